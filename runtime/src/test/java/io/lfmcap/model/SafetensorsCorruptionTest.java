package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged or hostile safetensors files fail on open with a message naming the file and the fault. */
class SafetensorsCorruptionTest {
    @TempDir
    Path tmp;

    /** A file with the given header length field, header text and data size. */
    private Path file(long declaredLength, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(json);
        Path p = tmp.resolve("bad.safetensors");
        Files.write(p, b.array());
        return p;
    }

    private Path file(String header, int dataBytes) throws IOException {
        return file(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private String openError(Path p) {
        ModelFileException e = assertThrows(ModelFileException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString()), "names the file: " + e.getMessage());
        return e.getMessage().substring(p.toString().length());
    }

    @Test
    void fileShorterThanTheLengthFieldIsTruncated() throws IOException {
        Path p = tmp.resolve("bad.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertEquals(" is truncated: 3 bytes, but a safetensors file starts with an 8-byte header length", openError(p));
    }

    @Test
    void headerRunningPastTheEndIsTruncated() throws IOException {
        String msg = openError(file(500, "{}", 0));
        assertEquals(" is truncated: the header needs 500 bytes after the length field, the file has 2", msg);
    }

    @Test
    void hugeHeaderIsRefused() throws IOException {
        String msg = openError(file(200_000_000L, "{}", 0));
        assertTrue(msg.startsWith(" declares a 200000000-byte header, over the 100000000-byte limit"), msg);
    }

    @Test
    void negativeLengthFieldIsRefused() throws IOException {
        String msg = openError(file(-1L, "{}", 0));
        assertTrue(msg.startsWith(" declares a 18446744073709551615-byte header"), msg);
    }

    @Test
    void badJsonIsReported() throws IOException {
        String msg = openError(file("{\"x\": {\"dtype\": \"F32\",", 0));
        assertTrue(msg.startsWith(": safetensors header is not valid JSON"), msg);
    }

    @Test
    void duplicateNamesAreReported() throws IOException {
        String entry = "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}";
        String msg = openError(file("{\"x\": " + entry + ", \"x\": " + entry + "}", 4));
        assertTrue(msg.startsWith(": safetensors header is not valid JSON: Duplicate field 'x'"), msg);
    }

    @Test
    void offsetsBeyondTheDataAreReported() throws IOException {
        String msg = openError(file("{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8));
        assertEquals(": safetensors header entry 'w': data_offsets [0, 16] lie outside the data section (8 bytes)", msg);
    }

    @Test
    void offsetsNotMatchingTheShapeAreReported() throws IOException {
        String msg = openError(file("{\"w\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 8]}}", 8));
        assertEquals(": safetensors header entry 'w': data_offsets span 8 bytes but BF16[2, 3] needs 12", msg);
    }

    @Test
    void overlappingTensorsAreReported() throws IOException {
        String msg = openError(file("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12));
        assertEquals(" has overlapping tensors 'a' [0, 8) and 'b' [4, 12)", msg);
    }

    @Test
    void unsupportedDtypeIsReported() throws IOException {
        String msg = openError(file("{\"ids\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8));
        assertEquals(": safetensors header entry 'ids': unsupported tensor dtype 'I64' (supported: F32, F16, BF16)", msg);
    }

    @Test
    void malformedShapeIsReported() throws IOException {
        String msg = openError(file("{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4));
        assertEquals(": safetensors header entry 'w': shape must be a list of non-negative integers (found [-1])", msg);
    }

    @Test
    void headerThatIsNotAnObjectIsReported() throws IOException {
        assertEquals(" has a safetensors header that is not a JSON object", openError(file("[1, 2]", 0)));
    }
}
