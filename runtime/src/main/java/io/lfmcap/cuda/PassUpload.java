package io.lfmcap.cuda;

import java.nio.ByteBuffer;

/**
 * The small per-pass arrays kernels read (row positions, sequence slots, segment bounds, gather indices,
 * position-embedding taps), staged in pinned host memory and copied to a fixed device buffer with one
 * asynchronous copy per {@link #send()}. Append-only between {@link #reset()}s; reset only when the stream
 * has finished the previous copies (every backend call ends with a stream sync).
 */
final class PassUpload implements AutoCloseable {
    private final GpuContext ctx;
    private final PinnedBuffer host;
    private final DeviceMemory device;
    private final int capacity;
    private int used;
    private int sent;

    PassUpload(GpuContext ctx, int capacityInts) {
        this.ctx = ctx;
        this.capacity = capacityInts;
        this.host = new PinnedBuffer("pass arrays (host)", 4L * capacityInts);
        DeviceMemory d;
        try {
            d = DeviceMemory.allocate("pass arrays", 4L * capacityInts);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
        this.device = d;
    }

    void reset() {
        used = 0;
        sent = 0;
    }

    /** Stages {@code values[0, n)}; returns the device address they will have after {@link #send()}. */
    long ints(int[] values, int n) {
        int at = reserve(n);
        ByteBuffer b = host.buffer();
        for (int i = 0; i < n; i++) b.putInt(4 * (at + i), values[i]);
        return device.address() + 4L * at;
    }

    long ints(int[] values) { return ints(values, values.length); }

    long floats(float[] values) {
        int at = reserve(values.length);
        ByteBuffer b = host.buffer();
        for (int i = 0; i < values.length; i++) b.putFloat(4 * (at + i), values[i]);
        return device.address() + 4L * at;
    }

    /** Copies what was staged since the last send to the device, on the context's stream. */
    void send() {
        ctx.toDevice(device.address() + 4L * sent, host.address() + 4L * sent, 4L * (used - sent));
        sent = used;
    }

    private int reserve(int n) {
        int at = (used + 3) & ~3; // 16-byte aligned arrays
        if ((long) at + n > capacity)
            throw new IllegalStateException("pass arrays need more than " + capacity + " ints; lower the batch or prefill size");
        used = at + n;
        return at;
    }

    @Override
    public void close() {
        try {
            device.close();
        } finally {
            host.close();
        }
    }
}
