package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cublas.*;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulAlgo_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The model's linear layers, {@code y[rows, out] (+)= x[rows, in] · W[out, in]^T} with bf16 x and W, fp32
 * accumulation and an fp32 or bf16 y, on the context's stream.
 *
 * <pre>
 *   no bias          cublasGemmEx (row-major as column-major: y^T = W · x^T, opA = T)
 *                    -> a tuned cuBLASLt algorithm (below) for passes of >= TUNED_MIN_ROWS rows
 *   bias [+ GELU]    cuBLASLt with the BIAS / GELU_BIAS epilogue (GELU_BIAS is the tanh approximation,
 *                    gelu_pytorch_tanh); bias in y's type; beta = 1 adds onto y (the residual stream);
 *                    the tuned algorithm where there is one, else the heuristic's first
 *                    -> when cuBLASLt offers no algorithm, or fused epilogues are off: cublasGemmEx, then
 *                       the bias_act kernel
 * </pre>
 * Tuning ({@link #tune}, at load): cuBLASLt's heuristic ranks algorithms by a model; timing its first
 * {@value #TUNING_CANDIDATES} on the real shapes finds ones up to 15% faster for some of them (the short-K
 * out-projections most; GemmAlgorithmsBench, s4-6: 6.1% less time over the bench shapes of both models). Choices are
 * kept process-wide per device and shape, so engines on one GPU run the same algorithms.
 * cuBLASLt descriptors and the chosen algorithm are cached per shape (a bounded LRU). One instance per
 * stream; not thread-safe.
 */
final class Gemm implements AutoCloseable {
    static final long WORKSPACE_BYTES = 32L << 20;
    /** The smallest pass whose linear layers take a tuned algorithm (decode steps keep cuBLAS's choice: 0-4% there). */
    static final int TUNED_MIN_ROWS = 1024;
    /** Timing 32 or 100 of the heuristic's candidates found nothing faster than its first 8 (s13-1). */
    static final int TUNING_CANDIDATES = 8;
    private static final int MAX_PLANS = 512;
    private static final int TIMED_RUNS = 5;
    private static final int TIMING_ROUNDS = 3;

    /** Tuned algorithms of this process (cublasLtMatmulAlgo_t words), per device and shape, by the pass rows timed. */
    private static final Map<TunedShape, NavigableMap<Integer, long[]>> TUNED = new ConcurrentHashMap<>();

    private final GpuContext ctx;
    private final boolean fused;
    private final boolean tuning;
    private final cublasContext handle = new cublasContext();
    private final cublasLtContext lt = new cublasLtContext();
    private final DeviceMemory workspace;
    private final FloatPointer one = new FloatPointer(new float[] {1f});
    private final FloatPointer zero = new FloatPointer(new float[] {0f});
    private final LongPointer biasAddress = new LongPointer(1);
    private final Map<PlanKey, LtPlan> plans = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<PlanKey, LtPlan> eldest) {
            if (size() <= MAX_PLANS) return false;
            eldest.getValue().close();
            return true;
        }
    };
    private int tunedShapes;
    private long tuningNanos;
    private boolean closed;

    Gemm(GpuContext ctx, boolean fused, boolean tuning) {
        this.ctx = ctx;
        this.fused = fused;
        this.tuning = tuning;
        Cuda.checkCublas(cublasCreate_v2(handle), "cublasCreate");
        DeviceMemory ws = null;
        try {
            Cuda.checkCublas(cublasSetStream_v2(handle, ctx.stream), "cublasSetStream");
            ws = DeviceMemory.allocate("cuBLAS workspace", WORKSPACE_BYTES);
            Cuda.checkCublas(cublasSetWorkspace_v2(handle, Cuda.at(ws.address()), WORKSPACE_BYTES), "cublasSetWorkspace");
            Cuda.checkCublas(cublasLtCreate(lt), "cublasLtCreate");
        } catch (RuntimeException e) {
            cublasDestroy_v2(handle);
            if (ws != null) ws.close();
            throw e;
        }
        this.workspace = ws;
    }

    /** {@code y (+)= x · W^T}: no bias. */
    void linear(long x, int rows, DeviceMatrix w, long y, boolean yF32, boolean accumulate) {
        if (rows == 0) return;
        PlanKey key = new PlanKey(rows, w.rows(), w.cols(), yF32, accumulate, CUBLASLT_EPILOGUE_DEFAULT);
        if (tunedAlgorithm(key) != null) {
            LtPlan plan = plan(key, 0);
            if (plan.usable) {
                matmul(plan, x, w, 0, y, accumulate);
                return;
            }
        }
        Cuda.checkCublas(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, w.rows(), rows, w.cols(), one,
                Cuda.at(w.address()), Cuda.BF16, w.cols(), Cuda.at(x), Cuda.BF16, w.cols(), accumulate ? one : zero,
                Cuda.at(y), yF32 ? Cuda.F32 : Cuda.BF16, w.rows(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                "cublasGemmEx(" + rows + "x" + w.cols() + " by " + w.rows() + "x" + w.cols() + ")");
    }

    /** {@code y (+)= act(x · W^T + bias)}, act = gelu_tanh or identity; bias has y's type. */
    void linearBias(long x, int rows, DeviceMatrix w, long bias, long y, boolean yF32, boolean accumulate, boolean geluTanh) {
        if (rows == 0) return;
        if (bias == 0 && !geluTanh) {
            linear(x, rows, w, y, yF32, accumulate);
            return;
        }
        LtPlan plan = fused && bias != 0 ? plan(biasKey(rows, w, yF32, accumulate, geluTanh), bias) : null;
        if (plan != null && plan.usable) {
            matmul(plan, x, w, bias, y, accumulate);
            return;
        }
        linear(x, rows, w, y, yF32, accumulate);
        Kernels.biasAct(ctx, Kernels.Grid.stride((long) rows * w.rows()), y, yF32 ? 0 : 1, bias, rows, w.rows(), geluTanh ? 1 : 0);
    }

    /** Whether {@link #linearBias} with these settings runs as one cuBLASLt call (for tests and reports). */
    boolean fusesEpilogue(int rows, DeviceMatrix w, long bias, boolean yF32, boolean accumulate, boolean geluTanh) {
        return fused && bias != 0 && plan(biasKey(rows, w, yF32, accumulate, geluTanh), bias).usable;
    }

    /** Whether {@link #linearBias} with these settings runs a tuned algorithm (for tests and reports). */
    boolean runsTuned(int rows, DeviceMatrix w, long bias, boolean yF32, boolean accumulate, boolean geluTanh) {
        PlanKey key = bias == 0 ? new PlanKey(rows, w.rows(), w.cols(), yF32, accumulate, CUBLASLT_EPILOGUE_DEFAULT)
                : biasKey(rows, w, yF32, accumulate, geluTanh);
        if (tunedAlgorithm(key) == null || (bias != 0 && !fused)) return false;
        LtPlan plan = plan(key, bias);
        return plan.usable && plan.algo == plan.tuned;
    }

    private static PlanKey biasKey(int rows, DeviceMatrix w, boolean yF32, boolean accumulate, boolean geluTanh) {
        return new PlanKey(rows, w.rows(), w.cols(), yF32, accumulate, geluTanh ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS);
    }

    private void matmul(LtPlan plan, long x, DeviceMatrix w, long bias, long y, boolean accumulate) {
        if (bias != 0) {
            biasAddress.put(0, bias);
            checkLt(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8), "bias pointer");
        }
        PlanKey k = plan.key;
        checkLt(cublasLtMatmul(lt, plan.desc, one, Cuda.at(w.address()), plan.a, Cuda.at(x), plan.b, accumulate ? one : zero,
                Cuda.at(y), plan.c, Cuda.at(y), plan.c, plan.algo, Cuda.at(workspace.address()), WORKSPACE_BYTES,
                ctx.stream), "cublasLtMatmul(" + k.rows() + "x" + k.in() + " by " + k.out() + "x" + k.in() + ")");
    }

    /**
     * Times up to {@value #TUNING_CANDIDATES} of cuBLASLt's algorithms for {@code y (+)= act(x · W^T + bias)} (as
     * {@link #linearBias} calls it) at {@code maxRows}, half as many, and so on down to {@value #TUNED_MIN_ROWS} rows,
     * and keeps the fastest of each for later passes of up to that many rows. Only algorithms that sum each output in
     * one pass over the inputs (no split-K, no stream-K reduction), so that a row's result does not depend on the pass
     * it is in (batched requests stay equal to lone ones). Shapes tuned before on this device are skipped.
     * {@code x [maxRows, in]} and {@code y [maxRows, out]} are scratch: both are overwritten. Synchronises the stream
     * (not while a graph is being captured).
     */
    void tune(long x, int maxRows, DeviceMatrix w, long bias, long y, boolean yF32, boolean accumulate, boolean geluTanh) {
        if (!tuning || maxRows < TUNED_MIN_ROWS || (bias == 0 && geluTanh) || (bias != 0 && !fused)) return;
        long start = System.nanoTime();
        int epilogue = bias == 0 ? CUBLASLT_EPILOGUE_DEFAULT : geluTanh ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
        TunedShape shape = new TunedShape(ctx.device, w.rows(), w.cols(), yF32, accumulate, epilogue);
        NavigableMap<Integer, long[]> byRows = TUNED.computeIfAbsent(shape, s -> new ConcurrentSkipListMap<>());
        if (byRows.containsKey(maxRows)) return;
        long inputs = (long) maxRows * w.cols();
        Kernels.fillBf16Noise(ctx, Kernels.Grid.stride(inputs), x, inputs, 1);
        int tunedHere = 0;
        for (int rows = maxRows; rows >= TUNED_MIN_ROWS; rows /= 2) {
            if (byRows.containsKey(rows)) continue;
            long[] best = fastest(new PlanKey(rows, w.rows(), w.cols(), yF32, accumulate, epilogue), x, w, bias, y);
            if (best != null) {
                byRows.putIfAbsent(rows, best);
                tunedHere++;
            }
        }
        tunedShapes += tunedHere;
        tuningNanos += System.nanoTime() - start;
    }

    /** (pass rows, shape) pairs this instance tuned, and the wall time it took. */
    int tunedShapes() { return tunedShapes; }

    double tuningMillis() { return tuningNanos / 1e6; }

    /**
     * The words of the fastest usable candidate for {@code key}, or null when none runs. Each candidate is timed in
     * {@value #TIMING_ROUNDS} rounds over all of them and keeps its best round: with one round, a candidate 2.3x slower
     * than cuBLAS's first choice was once kept for the 450M prefill out-projection (GemmAlgorithmsBench, s13-1).
     */
    private long[] fastest(PlanKey key, long x, DeviceMatrix w, long bias, long y) {
        try (LtPlan plan = new LtPlan(key, bias, null);
             cublasLtMatmulHeuristicResult_t found = new cublasLtMatmulHeuristicResult_t(TUNING_CANDIDATES);
             EventTimer timer = new EventTimer(ctx)) {
            int n = plan.heuristics(found, TUNING_CANDIDATES);
            double[] ms = new double[n];
            Arrays.fill(ms, Double.MAX_VALUE);
            boolean[] runs = new boolean[n];
            for (int i = 0; i < n; i++) runs[i] = singlePass(found.getPointer(i).algo());
            for (int round = 0; round < TIMING_ROUNDS; round++) {
                for (int i = 0; i < n; i++) {
                    if (!runs[i]) continue;
                    plan.algo = found.getPointer(i).algo();
                    try {
                        matmul(plan, x, w, bias, y, key.accumulate()); // warm-up
                        timer.start();
                        for (int r = 0; r < TIMED_RUNS; r++) matmul(plan, x, w, bias, y, key.accumulate());
                        ms[i] = Math.min(ms[i], timer.stopMillis() / TIMED_RUNS);
                    } catch (CudaException e) {
                        runs[i] = false; // an algorithm that does not launch here is not a candidate
                    }
                }
            }
            int best = -1;
            for (int i = 0; i < n; i++) if (runs[i] && (best < 0 || ms[i] < ms[best])) best = i;
            return best < 0 ? null : words(found.getPointer(best).algo());
        }
    }

    /** No split-K and no reduction scheme: each output is one accumulation over K in order. */
    private static boolean singlePass(cublasLtMatmulAlgo_t algo) {
        try (IntPointer v = new IntPointer(1); SizeTPointer written = new SizeTPointer(1)) {
            v.put(0, 1);
            if (cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, v, 4, written) != 0 || v.get(0) > 1) return false;
            v.put(0, 0);
            return cublasLtMatmulAlgoConfigGetAttribute(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, v, 4, written) == 0
                    && v.get(0) == CUBLASLT_REDUCTION_SCHEME_NONE;
        }
    }

    private static long[] words(cublasLtMatmulAlgo_t algo) {
        long[] w = new long[ALGO_WORDS];
        for (int i = 0; i < ALGO_WORDS; i++) w[i] = algo.data(i);
        return w;
    }

    private static final int ALGO_WORDS = 8; // cublasLtMatmulAlgo_t: uint64_t data[8]

    /** The tuned algorithm for a call of this key: tuned at the fewest rows >= its rows (or the most rows tuned). */
    private long[] tunedAlgorithm(PlanKey k) {
        if (!tuning || k.rows() < TUNED_MIN_ROWS) return null;
        NavigableMap<Integer, long[]> byRows = TUNED.get(new TunedShape(ctx.device, k.out(), k.in(), k.yF32(), k.accumulate(), k.epilogue()));
        if (byRows == null || byRows.isEmpty()) return null;
        Map.Entry<Integer, long[]> e = byRows.ceilingEntry(k.rows());
        return (e != null ? e : byRows.lastEntry()).getValue();
    }

    private LtPlan plan(PlanKey key, long bias) {
        LtPlan p = plans.get(key);
        if (p == null) {
            p = new LtPlan(key, bias, tunedAlgorithm(key));
            plans.put(key, p);
        }
        return p;
    }

    private static void checkLt(int status, String operation) {
        if (status != 0) throw new CudaException("cublasLt", operation, status, cublasGetStatusString(status).getString(), null);
    }

    private record PlanKey(int rows, int out, int in, boolean yF32, boolean accumulate, int epilogue) {}

    private record TunedShape(int device, int out, int in, boolean yF32, boolean accumulate, int epilogue) {}

    /**
     * cuBLASLt descriptors (column-major view: D[out, rows] = W^T-op · x) and the algorithm: the tuned one when it
     * passes cublasLtMatmulAlgoCheck for this shape, else the heuristic's first.
     */
    private final class LtPlan implements AutoCloseable {
        final PlanKey key;
        final cublasLtMatmulDescOpaque_t desc;
        final cublasLtMatrixLayoutOpaque_t a;
        final cublasLtMatrixLayoutOpaque_t b;
        final cublasLtMatrixLayoutOpaque_t c;
        final cublasLtMatmulHeuristicResult_t heuristic = new cublasLtMatmulHeuristicResult_t(1);
        final cublasLtMatmulAlgo_t tuned = new cublasLtMatmulAlgo_t();
        cublasLtMatmulAlgo_t algo;
        final boolean usable;

        LtPlan(PlanKey k, long bias, long[] tunedWords) {
            key = k;
            PointerPointer<?> out = new PointerPointer<>(1);
            checkLt(cublasLtMatmulDescCreate(out, CUBLAS_COMPUTE_32F, Cuda.F32), "cublasLtMatmulDescCreate");
            desc = new cublasLtMatmulDescOpaque_t(out.get(0));
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, new IntPointer(new int[] {CUBLAS_OP_T}), 4), "TRANSA");
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, new IntPointer(new int[] {CUBLAS_OP_N}), 4), "TRANSB");
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, new IntPointer(new int[] {k.epilogue()}), 4), "EPILOGUE");
            if (bias != 0) {
                biasAddress.put(0, bias);
                checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8), "BIAS_POINTER");
            }
            a = layout(Cuda.BF16, k.in(), k.out(), k.in());
            b = layout(Cuda.BF16, k.in(), k.rows(), k.in());
            c = layout(k.yF32() ? Cuda.F32 : Cuda.BF16, k.out(), k.rows(), k.out());
            if (tunedWords != null && fits(tunedWords)) {
                algo = tuned;
                usable = true;
            } else {
                usable = heuristics(heuristic, 1) > 0;
                algo = heuristic.algo();
            }
        }

        /** Whether the tuned algorithm runs this shape (cublasLtMatmulAlgoCheck) within the workspace. */
        private boolean fits(long[] words) {
            for (int i = 0; i < ALGO_WORDS; i++) tuned.data(i, words[i]);
            try (cublasLtMatmulHeuristicResult_t check = new cublasLtMatmulHeuristicResult_t(1)) {
                return cublasLtMatmulAlgoCheck(lt, desc, a, b, c, c, tuned, check) == 0 && check.workspaceSize() <= WORKSPACE_BYTES;
            }
        }

        /** The heuristic's first {@code n} algorithms into {@code results}; how many it gave. */
        int heuristics(cublasLtMatmulHeuristicResult_t results, int n) {
            PointerPointer<?> pp = new PointerPointer<>(1);
            checkLt(cublasLtMatmulPreferenceCreate(pp), "cublasLtMatmulPreferenceCreate");
            cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(pp.get(0));
            try {
                checkLt(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                        new LongPointer(new long[] {WORKSPACE_BYTES}), 8), "MAX_WORKSPACE_BYTES");
                int[] found = {0};
                int status = cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, pref, n, results, found);
                if (status != 0 || found[0] == 0) return 0;
                int usable = 0;
                while (usable < found[0] && results.getPointer(usable).state() == 0) usable++;
                return usable;
            } finally {
                cublasLtMatmulPreferenceDestroy(pref);
            }
        }

        private cublasLtMatrixLayoutOpaque_t layout(int type, long rows, long cols, long ld) {
            PointerPointer<?> pp = new PointerPointer<>(1);
            checkLt(cublasLtMatrixLayoutCreate(pp, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
            return new cublasLtMatrixLayoutOpaque_t(pp.get(0));
        }

        @Override
        public void close() {
            cublasLtMatrixLayoutDestroy(a);
            cublasLtMatrixLayoutDestroy(b);
            cublasLtMatrixLayoutDestroy(c);
            cublasLtMatmulDescDestroy(desc);
            heuristic.close();
            tuned.close();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (LtPlan p : plans.values()) p.close();
        plans.clear();
        cublasLtDestroy(lt);
        cublasDestroy_v2(handle);
        workspace.close();
    }
}
