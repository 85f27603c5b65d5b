package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.nio.ByteBuffer;
import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * The small per-pass arrays kernels read (row positions, sequence slots, segment bounds, gather indices,
 * position-embedding taps), staged in pinned host memory and copied to a fixed device buffer with one
 * asynchronous copy per {@link #send()}. Append-only between {@link #reset()}s. The host side has two halves
 * used in turn, one per reset, so a pass's arrays can be staged while the pass before is still queued (an
 * overlapped decode step, the next prefill group); each half's use ends with an event on the stream, and a reset
 * that returns to a half first waits for that event, so a half is only refilled once its copies have run
 * (normally long since). The device side is one buffer: a later pass's copy is queued behind the earlier pass's
 * kernels on the same stream.
 */
final class PassUpload implements AutoCloseable {
    private final GpuContext ctx;
    private final PinnedBuffer host;
    private final DeviceMemory device;
    private final long hostOnDevice;  // the host halves as kernels see them
    private final int capacity;
    private int used;
    private int sent;
    private int half;  // the host half in use: 0 or 1
    /** Per half: recorded on the stream when the half's use ended (behind its last copy). */
    private final CUevent_st[] released = {new CUevent_st(), new CUevent_st()};

    PassUpload(GpuContext ctx, int capacityInts) {
        this.ctx = ctx;
        this.capacity = capacityInts;
        this.host = new PinnedBuffer("pass arrays (host)", 2 * 4L * capacityInts);
        int made = 0;
        DeviceMemory d = null;
        long mapped;
        try {
            mapped = host.deviceAddress();
            for (; made < 2; made++) Cuda.check(cudaEventCreateWithFlags(released[made], cudaEventDisableTiming), "cudaEventCreateWithFlags");
            d = DeviceMemory.allocate("pass arrays", 4L * capacityInts);
        } catch (RuntimeException e) {
            for (int i = 0; i < made; i++) cudaEventDestroy(released[i]);
            host.close();
            throw e;
        }
        this.device = d;
        this.hostOnDevice = mapped;
    }

    /**
     * Starts a pass's arrays in the other host half, once that half's earlier copies have run. Not during a graph
     * capture (it records an event).
     */
    void reset() {
        Cuda.check(cudaEventRecord(released[half], ctx.stream), "cudaEventRecord(pass arrays)");
        half ^= 1;
        Cuda.check(cudaEventSynchronize(released[half]), "waiting for an earlier pass's array copy");
        used = 0;
        sent = 0;
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

    /** What was staged since the last send: at {@code from} in mapped host memory, for {@code to} on the device. */
    record Staged(long from, long to, int ints) {
        /** Nothing for a kernel to copy: the pass's arrays went by {@link #send()}. */
        static final Staged NONE = new Staged(0L, 0L, 0);
    }

    /**
     * Instead of {@link #send()}: hands what was staged since the last send to a kernel of the pass that copies it to the
     * device itself (embed_rows at a decode step: a copy on the stream before the step's graph cost the step 3.2 us,
     * decode_bench H200 s12-2); that kernel reads its own arrays at {@link #staging}, the kernels after it at their device
     * addresses. The half's release at the next reset fences the kernel's reads as it fences a copy.
     */
    Staged sendByKernel() {
        Staged staged = new Staged(hostOnDevice + 4L * ((long) half * capacity + sent), device.address() + 4L * sent, used - sent);
        sent = used;
        return staged;
    }

    /** Where an array staged since the last send (at {@code deviceAddress} once copied) sits in mapped host memory. */
    long staging(long deviceAddress) {
        return hostOnDevice + 4L * (long) half * capacity + (deviceAddress - device.address());
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
            for (CUevent_st e : released) cudaEventDestroy(e);
            host.close();
        }
    }
}
