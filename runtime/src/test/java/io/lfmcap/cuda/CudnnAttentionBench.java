package io.lfmcap.cuda;

import java.util.Locale;

/**
 * The vision attention two ways on the vision tower's packed q|k|v layout: kernels.cu's flash kernel (Attention.run,
 * as VisionTower launches it) and cuDNN's fused SDPA (CudnnAttention), us per launch and TFLOP/s, the plan's build
 * time and the largest difference between the two outputs. A measurement tool for docs/PERF_NOTES.md, not a test. On
 * the GPU host: {@code .gpu/run.sh io.lfmcap.cuda.CudnnAttentionBench}.
 */
public final class CudnnAttentionBench {
    public static void main(String[] args) {
        try (GpuBench gpu = new GpuBench(CudaOptions.defaults())) {
            gpu.run(() -> {
                for (int[] s : new int[][] {{64, 12, 26}, {64, 12, 32}, {64, 12, 16}, {72, 16, 26}}) run(gpu, s[0], s[1], s[2], 1024);
                return null;
            });
        }
    }

    private static void run(GpuBench gpu, int hd, int heads, int views, int size) {
        gpu.reset();
        int dim = heads * hd, rows = views * size;
        float scale = (float) Math.pow(hd, -0.5);
        long qkv = gpu.alloc(2L * rows * 3 * dim), flashOut = gpu.alloc(2L * rows * dim), cudnnOut = gpu.alloc(2L * rows * dim);
        long n = (long) rows * 3 * dim;
        Kernels.fillBf16Noise(gpu.ctx, Kernels.Grid.stride(n), qkv, n, 3);
        int[] first = new int[views], sizes = new int[views], causal = new int[views];
        for (int v = 0; v < views; v++) {
            first[v] = v * size;
            sizes[v] = size;
            causal[v] = -1;
        }
        long dFirst = gpu.i32(first), dSizes = gpu.i32(sizes), dCausal = gpu.i32(causal);
        Runnable flash = () -> Attention.run(gpu.ctx, false, hd, false, qkv, 3 * dim, qkv + 2L * dim, qkv + 4L * dim, 3 * dim, flashOut,
                dim, heads, heads, scale, dFirst, dSizes, dFirst, dSizes, dCausal, 0, 0, size, views);
        CudnnAttention.Shape shape = new CudnnAttention.Shape(views, size, heads, hd, 3 * dim, dim);
        String[] why = {""};
        long t0 = System.nanoTime();
        try (CudnnAttention cudnn = CudnnAttention.open(gpu.ctx, shape, why); EventTimer timer = new EventTimer(gpu.ctx)) {
            double flops = 4.0 * views * heads * (double) size * size * hd;
            double flashUs = GpuBench.meanMicros(timer, flash);
            System.out.printf(Locale.ROOT, "hd %d x %d heads, %d views x %d: flash kernel %.1f us (%.0f TFLOP/s)%n", hd, heads, views, size,
                    flashUs, flops / flashUs / 1e6);
            if (cudnn == null) {
                System.out.println("  cuDNN not used: " + why[0]);
                return;
            }
            boolean built = cudnn.supports(shape);
            double buildMs = (System.nanoTime() - t0) / 1e6;
            if (!built) {
                System.out.println("  cuDNN " + cudnn.version() + " refused " + shape);
                return;
            }
            double cudnnUs = GpuBench.meanMicros(timer, () -> cudnn.run(shape, scale, qkv, qkv + 2L * dim, qkv + 4L * dim, cudnnOut));
            float[] a = gpu.readBf16(flashOut, rows * dim), b = gpu.readBf16(cudnnOut, rows * dim);
            double maxDiff = 0, maxAbs = 0;
            for (int i = 0; i < a.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
                maxAbs = Math.max(maxAbs, Math.abs(a[i]));
            }
            System.out.printf(Locale.ROOT, "  cuDNN %s: %.1f us (%.0f TFLOP/s), %.2fx the flash kernel; open + plans %.0f ms; max |flash - cuDNN| %.3g (max |out| %.3g)%n",
                    cudnn.version(), cudnnUs, flops / cudnnUs / 1e6, flashUs / cudnnUs, buildMs, maxDiff, maxAbs);
        }
    }
}
