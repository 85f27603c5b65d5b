package io.lfmcap.model;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a {@code .safetensors} file as a stream: the layout (names, dtypes, shapes, in data order) is
 * declared up front, the header goes out at once, then the tensors' bytes are appended in that order,
 * so a multi-gigabyte checkpoint never has to be held in memory. The header is space-padded so the
 * data starts 8-byte aligned; tensors are packed back to back.
 *
 * <pre>{@code
 * try (var w = SafetensorsWriter.create(path, entries, Map.of("format", "pt"))) {
 *     w.writeFloats(values0);   // converted to entry 0's dtype
 *     w.write(rawBytes1);       // or raw little-endian bytes
 * }
 * }</pre>
 * Closing before every byte was written deletes the file and throws.
 */
public final class SafetensorsWriter implements AutoCloseable {
    private static final int BUFFER_BYTES = 1 << 20;

    /** One tensor of the layout. */
    public record Entry(String name, DType dtype, long[] shape) {
        public Entry {
            shape = shape.clone();
        }

        public long numElements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long byteSize() { return numElements() * dtype.bytes(); }
    }

    private final Path path;
    private final FileChannel channel;
    private final List<Entry> entries;
    private final long[] ends; // cumulative data end of each entry
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long written;
    private boolean closed;

    private SafetensorsWriter(Path path, FileChannel channel, List<Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.entries = List.copyOf(entries);
        this.ends = new long[entries.size()];
        long end = 0;
        for (int i = 0; i < ends.length; i++) ends[i] = end += entries.get(i).byteSize();
    }

    /** Creates (or replaces) {@code file} and writes its header; {@code metadata} may be empty. */
    public static SafetensorsWriter create(Path file, List<Entry> entries, Map<String, String> metadata) {
        byte[] header = header(entries, metadata);
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + file + ": " + e.getMessage(), e);
        }
        SafetensorsWriter w = new SafetensorsWriter(file, channel, entries);
        ByteBuffer start = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
        start.putLong(header.length).put(header).flip();
        w.drain(start);
        return w;
    }

    /** The entry whose bytes come next, or null once all data is written. */
    public Entry next() {
        int i = current();
        return i < entries.size() ? entries.get(i) : null;
    }

    /** Appends raw little-endian data bytes (they may span several tensors). */
    public void write(ByteBuffer bytes) {
        checkOpen();
        long total = ends.length == 0 ? 0 : ends[ends.length - 1];
        if (bytes.remaining() > total - written)
            throw new IllegalStateException(path + ": " + bytes.remaining() + " bytes more than the declared layout holds (" + (total - written) + " left)");
        int n = bytes.remaining();
        drain(bytes);
        written += n;
    }

    /**
     * Appends {@code values} to the current tensor, converted to its dtype (round to nearest even for
     * BF16/F16). The values must not run past the end of the current tensor.
     */
    public void writeFloats(float[] values) {
        writeFloats(values, 0, values.length);
    }

    /** As {@link #writeFloats(float[])} for {@code values[offset, offset+count)}. */
    public void writeFloats(float[] values, int offset, int count) {
        checkOpen();
        int i = current();
        if (i >= entries.size()) throw new IllegalStateException(path + ": all declared tensors are already written");
        Entry e = entries.get(i);
        int size = e.dtype().bytes();
        long tensorStart = ends[i] - e.byteSize();
        if ((written - tensorStart) % size != 0)
            throw new IllegalStateException(path + ": tensor '" + e.name() + "' is mid-element after raw writes");
        if ((long) count * size > ends[i] - written)
            throw new IllegalStateException(path + ": " + count + " values overrun tensor '" + e.name() + "' " + e.dtype() + Tensor.shapeString(e.shape()));
        for (int k = 0; k < count; k++) {
            if (buffer.remaining() < size) flushBuffer();
            float v = values[offset + k];
            switch (e.dtype()) {
                case F32 -> buffer.putFloat(v);
                case BF16 -> buffer.putShort(FloatFormats.floatToBf16(v));
                case F16 -> buffer.putShort(FloatFormats.floatToF16(v));
            }
        }
        flushBuffer();
        written += (long) count * size;
    }

    /** Finishes the file; fails (and deletes it) if some declared data was never written. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        long total = ends.length == 0 ? 0 : ends[ends.length - 1];
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish " + path, e);
        }
        if (written != total) {
            Entry missing = next();
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // the message below is what matters
            }
            throw new IllegalStateException(path + ": closed after " + written + " of " + total + " data bytes (tensor '" + missing.name() + "' incomplete); the file was deleted");
        }
    }

    private int current() {
        int i = 0;
        while (i < ends.length && ends[i] <= written) i++;
        return i;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(path + " is already closed");
    }

    private void flushBuffer() {
        buffer.flip();
        drain(buffer);
        buffer.clear();
    }

    private void drain(ByteBuffer bytes) {
        try {
            while (bytes.hasRemaining()) channel.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    /** Header JSON, padded with spaces so that 8 + its length is a multiple of 8. */
    private static byte[] header(List<Entry> entries, Map<String, String> metadata) {
        ObjectNode root = JsonFields.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        Set<String> seen = new HashSet<>();
        long offset = 0;
        for (Entry e : entries) {
            if (e.name().equals(SafetensorsFile.METADATA_KEY) || !seen.add(e.name()))
                throw new IllegalArgumentException("tensor name '" + e.name() + "' is reserved or appears twice");
            ObjectNode info = root.putObject(e.name());
            info.put("dtype", e.dtype().safetensorsName());
            ArrayNode shape = info.putArray("shape");
            for (long d : e.shape()) {
                if (d < 0) throw new IllegalArgumentException("tensor '" + e.name() + "' has a negative dimension " + Tensor.shapeString(e.shape()));
                shape.add(d);
            }
            info.putArray("data_offsets").add(offset).add(offset + e.byteSize());
            offset += e.byteSize();
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }
}
