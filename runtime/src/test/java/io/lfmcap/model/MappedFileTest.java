package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Small windows make a 1,000-byte file behave like a multi-gigabyte one does with the default size. */
class MappedFileTest {
    private static final int WINDOW = 64; // ranges up to 32 bytes are always one view

    @TempDir
    Path tmp;

    private Path fileOf(int size) throws IOException {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) bytes[i] = (byte) (i * 31 + 7);
        Path p = tmp.resolve("data.bin");
        Files.write(p, bytes);
        return p;
    }

    private static byte[] expected(long offset, int length) {
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) out[i] = (byte) ((offset + i) * 31 + 7);
        return out;
    }

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void everyShortRangeIsOneCorrectView() throws IOException {
        try (MappedFile f = MappedFile.open(fileOf(1000), WINDOW)) {
            for (long offset = 0; offset <= 1000 - 32; offset += 5)
                for (int length : new int[] {0, 1, 17, 32})
                    assertArrayEquals(expected(offset, length), bytesOf(f.slice(offset, length)), "offset " + offset + " length " + length);
        }
    }

    @Test
    void rangeLongerThanHalfAWindowGetsItsOwnMapping() throws IOException {
        try (MappedFile f = MappedFile.open(fileOf(1000), WINDOW)) {
            assertArrayEquals(expected(100, 300), bytesOf(f.slice(100, 300)));
            assertArrayEquals(expected(0, 1000), bytesOf(f.slice(0, 1000)));
            assertArrayEquals(expected(100, 300), bytesOf(f.slice(100, 300)), "reused mapping");
        }
    }

    @Test
    void tailOfTheFileIsReachable() throws IOException {
        try (MappedFile f = MappedFile.open(fileOf(1000), WINDOW)) {
            assertArrayEquals(expected(968, 32), bytesOf(f.slice(968, 32)));
            assertArrayEquals(expected(999, 1), bytesOf(f.slice(999, 1)));
            assertEquals(0, f.slice(1000, 0).remaining());
        }
    }

    @Test
    void readCopiesAcrossWindows() throws IOException {
        try (MappedFile f = MappedFile.open(fileOf(1000), WINDOW)) {
            byte[] dst = new byte[710];
            f.read(3, dst, 5, 700);
            assertArrayEquals(expected(3, 700), Arrays.copyOfRange(dst, 5, 705));
            ByteBuffer buf = ByteBuffer.allocate(333);
            f.read(600, buf);
            assertArrayEquals(expected(600, 333), buf.array());
            assertArrayEquals(expected(950, 50), f.readBytes(950, 50));
        }
    }

    @Test
    void slicesAreLittleEndianAndReadOnly() throws IOException {
        Path p = tmp.resolve("le.bin");
        Files.write(p, new byte[] {1, 2, 3, 4});
        try (MappedFile f = MappedFile.open(p)) {
            ByteBuffer b = f.slice(0, 4);
            assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
            assertEquals(0x04030201, b.getInt(0));
            assertTrue(b.isReadOnly());
        }
    }

    @Test
    void rangeOutsideTheFileIsRefused() throws IOException {
        try (MappedFile f = MappedFile.open(fileOf(100), WINDOW)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> f.slice(90, 11));
            assertTrue(e.getMessage().contains("bytes [90, 101) lie outside"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> f.slice(-1, 1));
        }
    }

    @Test
    void closedFileRefusesReads() throws IOException {
        MappedFile f = MappedFile.open(fileOf(100), WINDOW);
        f.close();
        assertThrows(IllegalStateException.class, () -> f.slice(0, 1));
        f.close(); // idempotent
    }

    @Test
    void emptyFileMaps() throws IOException {
        try (MappedFile f = MappedFile.open(fileOf(0), WINDOW)) {
            assertEquals(0, f.size());
            assertEquals(0, f.slice(0, 0).remaining());
        }
    }
}
