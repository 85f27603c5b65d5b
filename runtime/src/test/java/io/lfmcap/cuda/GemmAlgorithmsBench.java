package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import io.lfmcap.model.FloatFormats;
import java.util.Locale;
import java.util.Random;
import org.bytedeco.javacpp.ShortPointer;

/**
 * Gemm with tuned algorithms (Gemm.tune) against cuBLAS's first choice, on the linear layers of the bench shapes
 * (450M / 1.6B: vision passes of 32 views, prefill passes of 16,384 rows, and passes between the tuned row counts),
 * with the epilogues and output types the engine uses. A measurement tool for docs/PERF_NOTES.md, not a test. On the
 * GPU host: {@code .gpu/run.sh io.lfmcap.cuda.GemmAlgorithmsBench}.
 */
public final class GemmAlgorithmsBench {
    /** One linear layer call as the engine makes it: y[rows, out] (+)= act(x[rows, in] W^T (+ b)), tuned at maxRows. */
    record Shape(String name, int maxRows, int rows, int out, int in, boolean bias, boolean gelu, boolean yF32, boolean accumulate) {
        double flops() { return 2.0 * rows * out * in; }
    }

    private static final Shape[] SHAPES = {
        // 450M vision (SigLIP2 base: D 768, I 3072), 32 views of 1,024 patches
        new Shape("450m vision qkv", 32768, 32768, 2304, 768, true, false, false, false),
        new Shape("450m vision out", 32768, 32768, 768, 768, true, false, false, true),
        new Shape("450m vision fc1", 32768, 32768, 3072, 768, true, true, false, false),
        new Shape("450m vision fc2", 32768, 32768, 768, 3072, true, false, false, true),
        // 450M text (hidden 1024, ff 4608), prefill passes
        new Shape("450m prefill conv in", 16384, 16384, 3072, 1024, false, false, true, false),
        new Shape("450m prefill out", 16384, 16384, 1024, 1024, false, false, true, true),
        new Shape("450m prefill gate/up", 16384, 16384, 9216, 1024, false, false, false, false),
        new Shape("450m prefill down", 16384, 16384, 1024, 4608, false, false, true, true),
        new Shape("450m prefill out, 5000 rows", 16384, 5000, 1024, 1024, false, false, true, true),
        // 1.6B vision (so400m: D 1152, I 4304)
        new Shape("1.6b vision qkv", 32768, 32768, 3456, 1152, true, false, false, false),
        new Shape("1.6b vision out", 32768, 32768, 1152, 1152, true, false, false, true),
        new Shape("1.6b vision fc1", 32768, 32768, 4304, 1152, true, true, false, false),
        new Shape("1.6b vision fc2", 32768, 32768, 1152, 4304, true, false, false, true),
        new Shape("1.6b vision out, 26 views", 32768, 26624, 1152, 1152, true, false, false, true),
        // 1.6B text (hidden 2048, ff 8192)
        new Shape("1.6b prefill conv in", 16384, 16384, 6144, 2048, false, false, true, false),
        new Shape("1.6b prefill attn qkv", 16384, 16384, 3072, 2048, false, false, true, false),
        new Shape("1.6b prefill out", 16384, 16384, 2048, 2048, false, false, true, true),
        new Shape("1.6b prefill gate/up", 16384, 16384, 16384, 2048, false, false, false, false),
        new Shape("1.6b prefill down", 16384, 16384, 2048, 8192, false, false, true, true),
        new Shape("1.6b prefill out, 4500 rows", 16384, 4500, 2048, 2048, false, false, true, true),
    };

    public static void main(String[] args) {
        try (GpuBench gpu = new GpuBench(CudaOptions.defaults())) {
            gpu.run(() -> {
                run(gpu);
                return null;
            });
        }
    }

    private static void run(GpuBench gpu) {
        long maxX = 0, maxW = 0, maxY = 0, maxOut = 0; // elements, except maxY: bytes
        for (Shape s : SHAPES) {
            maxX = Math.max(maxX, (long) s.maxRows * s.in);
            maxW = Math.max(maxW, (long) s.out * s.in);
            maxY = Math.max(maxY, (long) s.maxRows * s.out * (s.yF32 ? 4 : 2));
            maxOut = Math.max(maxOut, s.out);
        }
        long x = filled(gpu, maxX), w = filled(gpu, maxW), bias = filled(gpu, 2 * maxOut), y = gpu.alloc(maxY);
        long tuningX = gpu.alloc(2 * maxX);
        System.out.println("| shape | rows x out x in | first choice us (TFLOP/s) | tuned us (TFLOP/s) | gain |");
        System.out.println("|---|---|---|---|---|");
        double firstTotal = 0, tunedTotal = 0;
        try (Gemm first = new Gemm(gpu.ctx, true, false); Gemm tuned = new Gemm(gpu.ctx, true, true); EventTimer timer = new EventTimer(gpu.ctx)) {
            for (Shape s : SHAPES) {
                DeviceMatrix m = new DeviceMatrix(w, s.out, s.in);
                long b = s.bias ? bias : 0;
                tuned.tune(tuningX, s.maxRows, m, b, y, s.yF32, s.accumulate, s.gelu);
                double a = GpuBench.meanMicros(timer, () -> first.linearBias(x, s.rows, m, b, y, s.yF32, s.accumulate, s.gelu));
                double t = GpuBench.meanMicros(timer, () -> tuned.linearBias(x, s.rows, m, b, y, s.yF32, s.accumulate, s.gelu));
                System.out.printf(Locale.ROOT, "| %s | %dx%dx%d | %.1f (%.0f) | %.1f (%.0f)%s | %.1f%% |%n", s.name, s.rows, s.out, s.in,
                        a, s.flops() / a / 1e6, t, s.flops() / t / 1e6, tuned.runsTuned(s.rows, m, b, s.yF32, s.accumulate, s.gelu) ? "" : " untuned",
                        100 * (a - t) / a);
                firstTotal += a;
                tunedTotal += t;
            }
            System.out.printf(Locale.ROOT, "sum over shapes: first choice %.1f us, tuned %.1f us (%.1f%% less); tuning took %.0f ms for %d (shape, rows) pairs%n",
                    firstTotal, tunedTotal, 100 * (firstTotal - tunedTotal) / firstTotal, tuned.tuningMillis(), tuned.tunedShapes());
        }
    }

    /** bf16 values in [-0.05, 0.05): nonzero data, so that the card draws the power it draws on real weights. */
    private static long filled(GpuBench gpu, long elements) {
        long d = gpu.alloc(2 * elements);
        int chunk = 1 << 24;
        short[] host = new short[chunk];
        Random r = new Random(1);
        for (int i = 0; i < chunk; i++) host[i] = FloatFormats.floatToBf16((r.nextFloat() - 0.5f) * 0.1f);
        try (ShortPointer p = new ShortPointer(host)) {
            for (long at = 0; at < elements; at += chunk) {
                long n = Math.min(chunk, elements - at);
                Cuda.check(cudaMemcpy(Cuda.at(d + 2 * at), p, 2 * n, cudaMemcpyHostToDevice), "bench fill");
            }
        }
        return d;
    }
}
