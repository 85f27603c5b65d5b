package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import io.lfmcap.model.FloatFormats;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * A GPU context on its own worker thread plus a scratch arena, for kernel tests: put arrays on the device,
 * launch, read back. Every call runs on the worker ({@link #run}); reads synchronize the stream first.
 */
final class GpuBench implements AutoCloseable {
    private static final long SCRATCH = 1L << 30;
    final GpuWorker worker = new GpuWorker("gpu-test");
    GpuContext ctx;
    private DeviceMemory scratch;
    private long used;

    GpuBench(CudaOptions options) {
        run(() -> {
            ctx = GpuContext.open(0, options);
            scratch = DeviceMemory.allocate("test scratch", SCRATCH);
            return null;
        });
    }

    /** Mean microseconds per call of {@code call} on the timer's stream, over 20 calls after 3 warm-up calls (benches). */
    static double meanMicros(EventTimer timer, Runnable call) {
        for (int i = 0; i < 3; i++) call.run();
        int reps = 20;
        timer.start();
        for (int i = 0; i < reps; i++) call.run();
        return 1000.0 * timer.stopMillis() / reps;
    }

    <T> T run(Callable<T> task) { return worker.call(task); }

    /** Frees the scratch arena for the next test. */
    void reset() { used = 0; }

    long alloc(long bytes) {
        long at = DeviceMemory.align(used);
        if (at + bytes > SCRATCH) throw new IllegalStateException("test scratch exhausted");
        used = at + bytes;
        return scratch.address() + at;
    }

    long f32(float[] v) {
        long d = alloc(4L * v.length);
        try (FloatPointer p = new FloatPointer(v)) {
            Cuda.check(cudaMemcpy(Cuda.at(d), p, 4L * v.length, cudaMemcpyHostToDevice), "test upload");
        }
        return settled(d);
    }

    /** Uploads {@code v} rounded to bf16. */
    long bf16(float[] v) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = FloatFormats.floatToBf16(v[i]);
        long d = alloc(2L * v.length);
        try (ShortPointer p = new ShortPointer(s)) {
            Cuda.check(cudaMemcpy(Cuda.at(d), p, 2L * v.length, cudaMemcpyHostToDevice), "test upload");
        }
        return settled(d);
    }

    long i32(int[] v) {
        long d = alloc(4L * Math.max(1, v.length));
        try (IntPointer p = new IntPointer(v)) {
            Cuda.check(cudaMemcpy(Cuda.at(d), p, 4L * v.length, cudaMemcpyHostToDevice), "test upload");
        }
        return settled(d);
    }

    /** cudaMemcpy runs on the legacy stream, which does not order against the context's non-blocking stream. */
    private static long settled(long d) {
        Cuda.check(cudaDeviceSynchronize(), "test upload");
        return d;
    }

    /** Device memory filled with NaN bit patterns (0xFF bytes), so unwritten outputs show. */
    long poisoned(long bytes) {
        long d = alloc(bytes);
        Cuda.check(cudaMemsetAsync(Cuda.at(d), 0xff, bytes, ctx.stream), "test poison");
        return d;
    }

    float[] readF32(long d, int n) {
        ctx.sync("test kernels");
        float[] out = new float[n];
        try (FloatPointer p = new FloatPointer(n)) {
            Cuda.check(cudaMemcpy(p, Cuda.at(d), 4L * n, cudaMemcpyDeviceToHost), "test download");
            p.get(out);
        }
        return out;
    }

    float[] readBf16(long d, int n) {
        ctx.sync("test kernels");
        short[] s = new short[n];
        try (ShortPointer p = new ShortPointer(n)) {
            Cuda.check(cudaMemcpy(p, Cuda.at(d), 2L * n, cudaMemcpyDeviceToHost), "test download");
            p.get(s);
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = FloatFormats.bf16ToFloat(s[i]);
        return out;
    }

    int[] readI32(long d, int n) {
        ctx.sync("test kernels");
        int[] out = new int[n];
        try (IntPointer p = new IntPointer(n)) {
            Cuda.check(cudaMemcpy(p, Cuda.at(d), 4L * n, cudaMemcpyDeviceToHost), "test download");
            p.get(out);
        }
        return out;
    }

    @Override
    public void close() {
        run(() -> {
            scratch.close();
            ctx.close();
            return null;
        });
        worker.close();
    }
}
