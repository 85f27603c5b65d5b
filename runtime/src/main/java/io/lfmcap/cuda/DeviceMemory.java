package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;

/**
 * One {@code cudaMalloc} block, freed by {@link #close()} (idempotent; JavaCPP never frees device memory by
 * itself). Carved into aligned regions with {@link #take}, so a backend makes a handful of allocations at
 * start and none afterwards. {@link #liveBytes()} counts what is allocated process-wide, for leak checks.
 */
final class DeviceMemory implements AutoCloseable {
    static final long ALIGNMENT = 256;
    private static final AtomicLong LIVE = new AtomicLong();

    private final String what;
    private final long address;
    private final long bytes;
    private long used;
    private boolean closed;

    private DeviceMemory(String what, long address, long bytes) {
        this.what = what;
        this.address = address;
        this.bytes = bytes;
    }

    /** {@code bytes} of device memory on the current device, for {@code what} (named in errors). */
    static DeviceMemory allocate(String what, long bytes) {
        Pointer p = new Pointer();
        Cuda.check(cudaMalloc(p, Math.max(bytes, ALIGNMENT)), "cudaMalloc(" + what + ", " + Cuda.mib(bytes) + ")");
        LIVE.addAndGet(bytes);
        return new DeviceMemory(what, p.address(), bytes);
    }

    /** The next {@code n} bytes, aligned to {@link #ALIGNMENT}. */
    long take(long n) {
        long at = align(used);
        if (at + n > bytes)
            throw new IllegalStateException(what + ": region of " + n + " bytes does not fit (" + at + " of " + bytes + " used)");
        used = at + n;
        return address + at;
    }

    static long align(long n) { return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT; }

    long address() { return address; }

    long bytes() { return bytes; }

    /** Bytes of device memory this process holds through DeviceMemory blocks. */
    static long liveBytes() { return LIVE.get(); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        LIVE.addAndGet(-bytes);
        Cuda.check(cudaFree(Cuda.at(address)), "cudaFree(" + what + ")");
    }
}
