package io.lfmcap.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A file mapped read-only, of any size, with long offsets: the one place that works around Java 17's
 * 2 GiB limit on a {@link MappedByteBuffer}.
 *
 * <p>The file is covered by overlapping windows of {@code windowSize} bytes starting every
 * {@code windowSize/2} bytes, mapped on first use. Any range of at most {@code windowSize/2} bytes lies
 * inside one window, so {@link #slice} of a tensor is a view, never a copy. A longer range (up to
 * {@link Integer#MAX_VALUE} bytes) that no window holds gets a mapping of its own, kept for reuse. With
 * the default 1 GiB windows every tensor of the LFM2-VL models (the largest, embed_tokens of the 1.6B
 * model, is 256 MiB) is served by the windows.
 *
 * <p>{@link #close()} releases the mappings to the garbage collector, which unmaps them (Java 17 has
 * no safe explicit unmap); further calls fail. Buffers handed out before must not be used after close.
 * Thread-safe.
 */
public final class MappedFile implements AutoCloseable {
    /** Default window length; ranges up to half of it are always one view. */
    public static final long DEFAULT_WINDOW_SIZE = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long size;
    private final long windowSize;
    private final long stride;
    private final AtomicReferenceArray<MappedByteBuffer> windows;
    private final Map<Range, MappedByteBuffer> largeRanges = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private MappedFile(Path path, FileChannel channel, long size, long windowSize) {
        this.path = path;
        this.channel = channel;
        this.size = size;
        this.windowSize = windowSize;
        this.stride = windowSize / 2;
        long count = size <= windowSize ? 1 : (size - windowSize + stride - 1) / stride + 1;
        this.windows = new AtomicReferenceArray<>((int) count);
    }

    /** Maps {@code path} with the default window size. */
    public static MappedFile open(Path path) {
        return open(path, DEFAULT_WINDOW_SIZE);
    }

    /**
     * Maps {@code path} with windows of {@code windowSize} bytes (2 .. {@link Integer#MAX_VALUE});
     * small windows let tests exercise the multi-window paths on small files.
     */
    public static MappedFile open(Path path, long windowSize) {
        if (windowSize < 2 || windowSize > Integer.MAX_VALUE)
            throw new IllegalArgumentException("window size must be 2.." + Integer.MAX_VALUE + " bytes, got " + windowSize);
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path + ": " + e.getMessage(), e);
        }
        try {
            return new MappedFile(path, channel, channel.size(), windowSize);
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof IOException io) throw new UncheckedIOException("cannot read the size of " + path, io);
            throw (RuntimeException) e;
        }
    }

    public Path path() { return path; }

    /** File length in bytes. */
    public long size() { return size; }

    /**
     * A read-only little-endian view of bytes {@code [offset, offset+length)}, position 0, limit
     * {@code length}. Not a copy.
     */
    public ByteBuffer slice(long offset, int length) {
        checkRange(offset, length);
        int k = (int) Math.min(offset / stride, windows.length() - 1);
        long windowStart = k * stride;
        if (offset + length <= windowStart + windowLength(k))
            return view(window(k), (int) (offset - windowStart), length);
        MappedByteBuffer own = largeRanges.computeIfAbsent(new Range(offset, length), r -> map(r.offset, r.length));
        return view(own, 0, length);
    }

    /** Copies bytes {@code [offset, offset+length)} into {@code dst[dstOffset..]}, across windows. */
    public void read(long offset, byte[] dst, int dstOffset, int length) {
        checkRange(offset, length);
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        int done = 0;
        while (done < length) {
            int n = (int) Math.min(length - done, stride);
            slice(offset + done, n).get(dst, dstOffset + done, n);
            done += n;
        }
    }

    /** Fills {@code dst} (its remaining bytes) from the file starting at {@code offset}. */
    public void read(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        checkRange(offset, length);
        int done = 0;
        while (done < length) {
            int n = (int) Math.min(length - done, stride);
            dst.put(slice(offset + done, n));
            done += n;
        }
    }

    /** Bytes {@code [offset, offset+length)} as a new array. */
    public byte[] readBytes(long offset, int length) {
        byte[] out = new byte[length];
        read(offset, out, 0, length);
        return out;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (int k = 0; k < windows.length(); k++) windows.set(k, null);
        largeRanges.clear();
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + path, e);
        }
    }

    @Override
    public String toString() { return "MappedFile[" + path + ", " + size + " bytes]"; }

    private void checkRange(long offset, int length) {
        if (closed) throw new IllegalStateException(path + " is closed");
        if (length < 0 || offset < 0 || offset > size - length)
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") lie outside " + path + " (" + size + " bytes)");
    }

    private long windowLength(int k) {
        return Math.min(windowSize, size - k * stride);
    }

    private MappedByteBuffer window(int k) {
        MappedByteBuffer w = windows.get(k);
        if (w == null) {
            w = map(k * stride, (int) windowLength(k));
            if (!windows.compareAndSet(k, null, w)) w = windows.get(k);
            if (w == null) throw new IllegalStateException(path + " is closed");
        }
        return w;
    }

    private MappedByteBuffer map(long offset, int length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, length);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map bytes [" + offset + ", " + (offset + length) + ") of " + path + ": " + e.getMessage(), e);
        }
    }

    private static ByteBuffer view(MappedByteBuffer buffer, int index, int length) {
        return buffer.slice(index, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    private record Range(long offset, int length) {}
}
