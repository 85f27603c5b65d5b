package io.lfmcap.cuda;

import java.nio.ByteBuffer;

/**
 * The small per-pass arrays kernels read (row positions, sequence slots, segment bounds, gather indices,
 * position-embedding taps), staged in pinned host memory and copied to a fixed device buffer with one
 * asynchronous copy per {@link #send()}. Append-only between {@link #reset()}s. The host side has two halves
 * used in turn, one per reset: a reset may come while the pass before is still queued (an overlapped decode
 * step), but never while the one before that is (its results were read first), so a half is only refilled
 * once its copy has run. The device side is one buffer: a later pass's copy is queued behind the earlier
 * pass's kernels on the same stream.
 */
final class PassUpload implements AutoCloseable {
    private final GpuContext ctx;
    private final PinnedBuffer host;
    private final DeviceMemory device;
    private final int capacity;
    private int used;
    private int sent;
    private int half;  // the host half in use: 0 or 1

    PassUpload(GpuContext ctx, int capacityInts) {
        this.ctx = ctx;
        this.capacity = capacityInts;
        this.host = new PinnedBuffer("pass arrays (host)", 2 * 4L * capacityInts);
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
        half ^= 1;
    }

    /** Stages {@code values[0, n)}; returns the device address they will have after {@link #send()}. */
    long ints(int[] values, int n) {
        int at = reserve(n);
        ByteBuffer b = host.buffer();
        int base = 4 * (half * capacity + at);
        for (int i = 0; i < n; i++) b.putInt(base + 4 * i, values[i]);
        return device.address() + 4L * at;
    }

    long ints(int[] values) { return ints(values, values.length); }

    long floats(float[] values) {
        int at = reserve(values.length);
        ByteBuffer b = host.buffer();
        int base = 4 * (half * capacity + at);
        for (int i = 0; i < values.length; i++) b.putFloat(base + 4 * i, values[i]);
        return device.address() + 4L * at;
    }

    /** Copies what was staged since the last send to the device, on the context's stream. */
    void send() {
        ctx.toDevice(device.address() + 4L * sent, host.address() + 4L * ((long) half * capacity + sent), 4L * (used - sent));
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
