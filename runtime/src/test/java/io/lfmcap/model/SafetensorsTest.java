package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path tmp;

    /** Values every format holds exactly (bf16 has 8 significant bits, f16 has 11). */
    private static final float[] EXACT = {0f, -0f, 1f, -2.5f, 0.15625f, 96f, -0.0078125f, 0x1p-15f};

    @Test
    void writtenTensorsReadBackExactlyInEachDtype() {
        Path file = tmp.resolve("t.safetensors");
        float[] f32 = {1.1f, -2.2f, 3.3e-20f, Float.MAX_VALUE, -0f, 7f};
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new SafetensorsWriter.Entry("a.f32", DType.F32, new long[] {2, 3}),
                new SafetensorsWriter.Entry("b.f16", DType.F16, new long[] {8}),
                new SafetensorsWriter.Entry("c.bf16", DType.BF16, new long[] {2, 2, 2})), Map.of("format", "pt"))) {
            w.writeFloats(f32);
            w.writeFloats(EXACT);
            w.writeFloats(EXACT, 0, 4);
            w.writeFloats(EXACT, 4, 4);
        }
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("a.f32", "b.f16", "c.bf16"), List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertArrayEquals(f32, st.get("a.f32").toFloats());
            assertArrayEquals(EXACT, st.get("b.f16").toFloats());
            assertArrayEquals(EXACT, st.get("c.bf16").toFloats());
            assertArrayEquals(new long[] {2, 2, 2}, st.get("c.bf16").shape());
            assertEquals(DType.F16, st.get("b.f16").dtype());
            assertEquals(0, st.dataStart() % 8, "header padded so data is 8-byte aligned");
        }
    }

    @Test
    void narrowingRoundsToNearestEven() {
        Path file = tmp.resolve("r.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new SafetensorsWriter.Entry("x", DType.BF16, new long[] {1})), Map.of())) {
            w.writeFloats(new float[] {1f + 0x1p-8f}); // a tie: rounds to 1.0
        }
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1f}, st.get("x").toFloats());
        }
    }

    @Test
    void rawBytesAreTheStoredLittleEndianData() {
        Path file = tmp.resolve("raw.safetensors");
        ByteBuffer data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3f80).putShort((short) 0xc040).putInt(0x01020304).flip();
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new SafetensorsWriter.Entry("h", DType.BF16, new long[] {2}),
                new SafetensorsWriter.Entry("i", DType.F32, new long[] {1})), Map.of())) {
            w.write(data);
        }
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1f, -3f}, st.get("h").toFloats());
            assertEquals((short) 0xc040, st.get("h").rawBytes(2, 2).getShort(0));
            assertEquals(0x01020304, st.get("i").rawBytes(0, 4).getInt(0));
            assertThrows(IndexOutOfBoundsException.class, () -> st.get("h").rawBytes(2, 3));
        }
    }

    @Test
    void tensorsSpanningManyWindowsConvertExactly() {
        Path file = tmp.resolve("big.safetensors");
        float[] values = new float[5000];
        for (int i = 0; i < values.length; i++) values[i] = (i % 251 - 125) * 0.25f;
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(
                new SafetensorsWriter.Entry("a", DType.BF16, new long[] {50, 100}),
                new SafetensorsWriter.Entry("b", DType.F32, new long[] {5000})), Map.of())) {
            w.writeFloats(values);
            w.writeFloats(values);
        }
        try (SafetensorsFile st = SafetensorsFile.open(file, 256)) { // 128-byte views, 30 KB of data
            assertArrayEquals(values, st.get("a").toFloats());
            assertArrayEquals(values, st.get("b").toFloats());
            ByteBuffer row = st.get("b").rawBytes(4 * 1000, 4 * 3);
            assertEquals(values[1001], row.getFloat(4));
        }
    }

    @Test
    void closingBeforeAllDataIsWrittenDeletesTheFile() {
        Path file = tmp.resolve("short.safetensors");
        SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new SafetensorsWriter.Entry("x", DType.F32, new long[] {4})), Map.of());
        w.writeFloats(new float[] {1, 2});
        IllegalStateException e = assertThrows(IllegalStateException.class, w::close);
        assertTrue(e.getMessage().contains("closed after 8 of 16 data bytes (tensor 'x' incomplete)"), e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void writingPastTheLayoutIsRefused() {
        Path file = tmp.resolve("over.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new SafetensorsWriter.Entry("x", DType.F32, new long[] {2})), Map.of())) {
            assertThrows(IllegalStateException.class, () -> w.writeFloats(new float[3]));
            w.writeFloats(new float[2]);
            assertThrows(IllegalStateException.class, () -> w.write(ByteBuffer.allocate(1)));
        }
    }

    @Test
    void missingTensorIsNamedWithTheFile() throws IOException {
        Path file = tmp.resolve("one.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new SafetensorsWriter.Entry("x", DType.F32, new long[] {1})), Map.of())) {
            w.writeFloats(new float[1]);
        }
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            ModelFileException e = assertThrows(ModelFileException.class, () -> st.get("y"));
            assertEquals(file + " has no tensor 'y'", e.getMessage());
        }
    }
}
