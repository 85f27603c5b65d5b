package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cublas.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The model's linear layers, {@code y[rows, out] (+)= x[rows, in] · W[out, in]^T} with bf16 x and W, fp32
 * accumulation and an fp32 or bf16 y, on the context's stream.
 *
 * <pre>
 *   no bias          cublasGemmEx (row-major as column-major: y^T = W · x^T, opA = T)
 *   bias [+ GELU]    cuBLASLt with the BIAS / GELU_BIAS epilogue (GELU_BIAS is the tanh approximation,
 *                    gelu_pytorch_tanh); bias in y's type; beta = 1 adds onto y (the residual stream)
 *                    -> when cuBLASLt offers no algorithm, or fused epilogues are off: cublasGemmEx, then
 *                       the bias_act kernel
 * </pre>
 * cuBLASLt descriptors and the chosen algorithm are cached per shape (a bounded LRU). One instance per
 * stream; not thread-safe.
 */
final class Gemm implements AutoCloseable {
    static final long WORKSPACE_BYTES = 32L << 20;
    private static final int MAX_PLANS = 512;

    private final GpuContext ctx;
    private final boolean fused;
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
    private boolean closed;

    Gemm(GpuContext ctx, boolean fused) {
        this.ctx = ctx;
        this.fused = fused;
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
        LtPlan plan = fused && bias != 0 ? plan(new PlanKey(rows, w.rows(), w.cols(), yF32, accumulate, geluTanh), bias) : null;
        if (plan != null && plan.usable) {
            biasAddress.put(0, bias);
            checkLt(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8), "bias pointer");
            checkLt(cublasLtMatmul(lt, plan.desc, one, Cuda.at(w.address()), plan.a, Cuda.at(x), plan.b, accumulate ? one : zero,
                    Cuda.at(y), plan.c, Cuda.at(y), plan.c, plan.heuristic.algo(), Cuda.at(workspace.address()), WORKSPACE_BYTES,
                    ctx.stream), "cublasLtMatmul(" + rows + "x" + w.cols() + " by " + w.rows() + "x" + w.cols() + ")");
            return;
        }
        linear(x, rows, w, y, yF32, accumulate);
        Kernels.biasAct(ctx, Kernels.Grid.stride((long) rows * w.rows()), y, yF32 ? 0 : 1, bias, rows, w.rows(), geluTanh ? 1 : 0);
    }

    /** Whether {@link #linearBias} with these settings runs as one cuBLASLt call (for tests and reports). */
    boolean fusesEpilogue(int rows, DeviceMatrix w, long bias, boolean yF32, boolean accumulate, boolean geluTanh) {
        return fused && bias != 0 && plan(new PlanKey(rows, w.rows(), w.cols(), yF32, accumulate, geluTanh), bias).usable;
    }

    private LtPlan plan(PlanKey key, long bias) {
        LtPlan p = plans.get(key);
        if (p == null) {
            p = new LtPlan(key, bias);
            plans.put(key, p);
        }
        return p;
    }

    private static void checkLt(int status, String operation) {
        if (status != 0) throw new CudaException("cublasLt", operation, status, cublasGetStatusString(status).getString(), null);
    }

    private record PlanKey(int rows, int out, int in, boolean yF32, boolean accumulate, boolean gelu) {}

    /** cuBLASLt descriptors (column-major view: D[out, rows] = W^T-op · x) and the heuristic's algorithm. */
    private final class LtPlan implements AutoCloseable {
        final cublasLtMatmulDescOpaque_t desc;
        final cublasLtMatrixLayoutOpaque_t a;
        final cublasLtMatrixLayoutOpaque_t b;
        final cublasLtMatrixLayoutOpaque_t c;
        final cublasLtMatmulHeuristicResult_t heuristic = new cublasLtMatmulHeuristicResult_t(1);
        final boolean usable;

        LtPlan(PlanKey k, long bias) {
            PointerPointer<?> out = new PointerPointer<>(1);
            checkLt(cublasLtMatmulDescCreate(out, CUBLAS_COMPUTE_32F, Cuda.F32), "cublasLtMatmulDescCreate");
            desc = new cublasLtMatmulDescOpaque_t(out.get(0));
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, new IntPointer(new int[] {CUBLAS_OP_T}), 4), "TRANSA");
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, new IntPointer(new int[] {CUBLAS_OP_N}), 4), "TRANSB");
            int epilogue = k.gelu() ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, new IntPointer(new int[] {epilogue}), 4), "EPILOGUE");
            biasAddress.put(0, bias);
            checkLt(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8), "BIAS_POINTER");
            a = layout(Cuda.BF16, k.in(), k.out(), k.in());
            b = layout(Cuda.BF16, k.in(), k.rows(), k.in());
            c = layout(k.yF32() ? Cuda.F32 : Cuda.BF16, k.out(), k.rows(), k.out());
            PointerPointer<?> pp = new PointerPointer<>(1);
            checkLt(cublasLtMatmulPreferenceCreate(pp), "cublasLtMatmulPreferenceCreate");
            cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(pp.get(0));
            try {
                checkLt(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                        new LongPointer(new long[] {WORKSPACE_BYTES}), 8), "MAX_WORKSPACE_BYTES");
                int[] found = {0};
                int status = cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, pref, 1, heuristic, found);
                usable = status == 0 && found[0] > 0 && heuristic.state() == 0;
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
