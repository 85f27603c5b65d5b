package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudnn.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;

/**
 * The vision tower's attention through cuDNN's fused scaled-dot-product attention: the backend API's one-node graph
 * (CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR: Q, K, V, O and a by-value scale, no mask, no statistics), the graph
 * cudnn_frontend 1.18 builds for {@code scaled_dot_product_attention} in inference (what torch's CUDNN_ATTENTION
 * backend runs; cuDNN's API log of torch's call, s13-2). 26 views x 1,024 patches x 12 heads x 64 take 180.5 us on an
 * H200 with cuDNN 9.14 against 343.3 us for kernels.cu's attention_hd64 (CudnnAttentionBench, s13-3). Same numerics
 * contract as the flash kernels: fp32 scores and softmax, bf16 probabilities into the second product, fp32
 * accumulation.
 * <pre>
 *   Q, K, V  [views, heads, rows, hd] bf16 views of the packed q|k|v rows: strides (rows x ld, hd, ld, 1)
 *   O        [views, heads, rows, hd] bf16 into the attention buffer: strides (rows x ldo, hd, ldo, 1)
 * </pre>
 * A plan is per (views, rows, heads, hd, ld, ldo); cuDNN compiles its kernel when the plan is built (65-95 ms), so
 * plans are kept (a bounded LRU) and shapes cuDNN refuses are remembered. Optional: {@link #open} returns null when
 * cuDNN cannot be loaded or has no SDPA engine for the card, and the caller keeps the flash kernels. One instance per
 * stream; not thread-safe.
 */
final class CudnnAttention implements AutoCloseable {
    private static final int MAX_PLANS = 32;
    private static final long Q = 1, K = 2, V = 3, O = 4, SCALE = 5;
    private static final long MIN_WORKSPACE = 1L << 20;

    private final GpuContext ctx;
    private final cudnnContext handle;
    private final String version;
    private final FloatPointer scaleValue = new FloatPointer(1);
    private final Map<Shape, Plan> plans = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Shape, Plan> eldest) {
            if (size() <= MAX_PLANS) return false;
            if (eldest.getValue() != null) {
                ctx.sync("evicting a cuDNN attention plan"); // its compiled kernel may still be queued on the stream
                eldest.getValue().close();
            }
            return true;
        }
    };
    private DeviceMemory workspace;
    private boolean closed;

    /** One call's shape; {@code ld} and {@code ldo} are the q|k|v and output row strides in elements. */
    record Shape(int views, int rows, int heads, int headDim, int ld, int ldo) {}

    private CudnnAttention(GpuContext ctx, cudnnContext handle, String version) {
        this.ctx = ctx;
        this.handle = handle;
        this.version = version;
    }

    /**
     * cuDNN on {@code ctx}'s stream, or null (with the reason in {@code why[0]}) when the library does not load, is
     * older than 9 or refuses the SDPA node on this card (checked by building {@code probe}'s plan, which is kept).
     */
    static CudnnAttention open(GpuContext ctx, Shape probe, String[] why) {
        cudnnContext h = new cudnnContext();
        long v;
        try {
            v = cudnnGetVersion();
            if (v < 90000) {
                why[0] = "cuDNN " + v + " is older than 9.0";
                return null;
            }
            check(cudnnCreate(h), "cudnnCreate");
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            why[0] = "cuDNN 9 is not loadable (" + e.getMessage() + ")";
            return null;
        } catch (CudaException e) {
            why[0] = e.getMessage();
            return null;
        }
        CudnnAttention a = new CudnnAttention(ctx, h, (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100));
        try {
            check(cudnnSetStream(h, ctx.stream), "cudnnSetStream");
            a.workspace = DeviceMemory.allocate("cuDNN attention workspace", MIN_WORKSPACE);
            if (a.plan(probe) == null) {
                why[0] = "cuDNN " + a.version + " has no fused attention engine for " + probe + " on " + ctx.name;
                a.close();
                return null;
            }
            return a;
        } catch (RuntimeException e) {
            a.close();
            why[0] = e.getMessage();
            return null;
        }
    }

    /** The library version, e.g. "9.14.0". */
    String version() { return version; }

    /**
     * {@code out = softmax(q k^T scale) v} per view and head for {@code s.views()} views of {@code s.rows()} rows each,
     * laid out back to back from {@code q}, {@code k}, {@code v} and {@code out}. False, with nothing launched, when
     * cuDNN has no plan for the shape (the caller runs its own kernel).
     */
    boolean run(Shape s, float scale, long q, long k, long v, long out) {
        Plan p = plan(s);
        if (p == null) return false;
        scaleValue.put(0, scale);
        p.execute(q, k, v, out);
        return true;
    }

    /** Whether a plan for {@code s} exists or can be built (builds it). */
    boolean supports(Shape s) { return plan(s) != null; }

    private Plan plan(Shape s) {
        if (plans.containsKey(s)) return plans.get(s);
        Plan p = Plan.build(this, s);
        plans.put(s, p);
        if (p != null && p.workspaceBytes > workspace.bytes()) {
            ctx.sync("growing the cuDNN attention workspace");
            workspace.close();
            workspace = DeviceMemory.allocate("cuDNN attention workspace", p.workspaceBytes);
        }
        return p;
    }

    /** An execution plan and the descriptors it was built from (cuDNN keeps references to them). */
    private static final class Plan implements AutoCloseable {
        final CudnnAttention owner;
        final List<cudnnBackendDescriptor_t> descriptors = new ArrayList<>();
        cudnnBackendDescriptor_t plan;
        long workspaceBytes;
        /** void* arrays of the variant pack: the five tensors' addresses, the workspace's. */
        private final LongPointer pointers = new LongPointer(5);
        private final LongPointer workspacePointer = new LongPointer(1);
        private final LongPointer uidArray = new LongPointer(Q, K, V, O, SCALE);

        private Plan(CudnnAttention owner) { this.owner = owner; }

        /** The first of cuDNN's heuristic configurations (mode A) that builds, or null when none does. */
        static Plan build(CudnnAttention owner, Shape s) {
            Plan p = new Plan(owner);
            try {
                long rowsLd = (long) s.rows * s.ld, rowsLdo = (long) s.rows * s.ldo;
                long[] dims = {s.views, s.heads, s.rows, s.headDim};
                long[] qkv = {rowsLd, s.headDim, s.ld, 1};
                cudnnBackendDescriptor_t q = p.tensor(Q, CUDNN_DATA_BFLOAT16, dims, qkv, false);
                cudnnBackendDescriptor_t k = p.tensor(K, CUDNN_DATA_BFLOAT16, dims, qkv, false);
                cudnnBackendDescriptor_t v = p.tensor(V, CUDNN_DATA_BFLOAT16, dims, qkv, false);
                cudnnBackendDescriptor_t o = p.tensor(O, CUDNN_DATA_BFLOAT16, dims, new long[] {rowsLdo, s.headDim, s.ldo, 1}, false);
                cudnnBackendDescriptor_t scale = p.tensor(SCALE, CUDNN_DATA_FLOAT, new long[] {1, 1, 1, 1}, new long[] {1, 1, 1, 1}, true);

                cudnnBackendDescriptor_t op = p.create(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
                setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, q);
                setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, k);
                setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, v);
                setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, o);
                setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, scale);
                if (cudnnBackendFinalize(op) != CUDNN_STATUS_SUCCESS) return p.refused();

                cudnnBackendDescriptor_t graph = p.create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
                setDescriptor(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, op);
                setHandle(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, owner.handle);
                if (cudnnBackendFinalize(graph) != CUDNN_STATUS_SUCCESS) return p.refused();

                cudnnBackendDescriptor_t heur = p.create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
                setDescriptor(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
                try (IntPointer mode = new IntPointer(new int[] {CUDNN_HEUR_MODE_A})) {
                    check(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, mode), "heuristic mode");
                }
                if (cudnnBackendFinalize(heur) != CUDNN_STATUS_SUCCESS) return p.refused();
                int n = 8;
                cudnnBackendDescriptor_t[] configs = new cudnnBackendDescriptor_t[n];
                try (LongPointer array = new LongPointer(n); LongPointer found = new LongPointer(1)) {
                    for (int i = 0; i < n; i++) {
                        configs[i] = p.create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
                        array.put(i, configs[i].address());
                    }
                    if (cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n, found, array)
                            != CUDNN_STATUS_SUCCESS) return p.refused();
                    n = (int) Math.min(n, found.get());
                }
                for (int i = 0; i < n; i++) {
                    cudnnBackendDescriptor_t plan = p.create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
                    setHandle(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, owner.handle);
                    setDescriptor(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[i]);
                    if (cudnnBackendFinalize(plan) != CUDNN_STATUS_SUCCESS) continue;
                    try (LongPointer bytes = new LongPointer(1); LongPointer count = new LongPointer(1)) {
                        check(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, count, bytes),
                                "plan workspace size");
                        p.workspaceBytes = bytes.get();
                    }
                    p.plan = plan;
                    return p;
                }
                return p.refused();
            } catch (RuntimeException e) {
                p.close();
                throw e;
            }
        }

        /** Runs the plan on the owner's stream; the scale is read from the owner's host float at this call. */
        void execute(long q, long k, long v, long out) {
            pointers.put(0, q).put(1, k).put(2, v).put(3, out).put(4, owner.scaleValue.address());
            workspacePointer.put(0, owner.workspace.address());
            cudnnBackendDescriptor_t pack = new cudnnBackendDescriptor_t();
            check(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, pack), "variant pack");
            try {
                check(cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 5, uidArray), "variant pack ids");
                check(cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 5, pointers), "variant pack pointers");
                check(cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, workspacePointer), "variant pack workspace");
                check(cudnnBackendFinalize(pack), "variant pack");
                check(cudnnBackendExecute(owner.handle, plan, pack), "cudnnBackendExecute(SDPA forward)");
            } finally {
                cudnnBackendDestroyDescriptor(pack);
            }
        }

        private cudnnBackendDescriptor_t tensor(long uid, int type, long[] dims, long[] strides, boolean byValue) {
            cudnnBackendDescriptor_t t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
            try (IntPointer dataType = new IntPointer(new int[] {type}); LongPointer d = new LongPointer(dims);
                 LongPointer st = new LongPointer(strides); LongPointer id = new LongPointer(new long[] {uid});
                 LongPointer alignment = new LongPointer(new long[] {16}); BytePointer value = new BytePointer(new byte[] {1})) {
                check(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, dataType), "tensor type");
                check(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims.length, d), "tensor dims");
                check(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides.length, st), "tensor strides");
                check(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, id), "tensor id");
                check(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, alignment), "tensor alignment");
                if (byValue) check(cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, value), "tensor by value");
            }
            check(cudnnBackendFinalize(t), "tensor descriptor " + uid);
            return t;
        }

        private cudnnBackendDescriptor_t create(int type) {
            cudnnBackendDescriptor_t d = new cudnnBackendDescriptor_t();
            check(cudnnBackendCreateDescriptor(type, d), "cudnnBackendCreateDescriptor(" + type + ")");
            descriptors.add(d);
            return d;
        }

        private Plan refused() {
            close();
            return null;
        }

        private static void setDescriptor(cudnnBackendDescriptor_t d, int attribute, cudnnBackendDescriptor_t value) {
            try (LongPointer p = new LongPointer(new long[] {value.address()})) {
                check(cudnnBackendSetAttribute(d, attribute, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, p), "attribute " + attribute);
            }
        }

        private static void setHandle(cudnnBackendDescriptor_t d, int attribute, cudnnContext handle) {
            try (LongPointer p = new LongPointer(new long[] {handle.address()})) {
                check(cudnnBackendSetAttribute(d, attribute, CUDNN_TYPE_HANDLE, 1, p), "attribute " + attribute);
            }
        }

        @Override
        public void close() {
            for (int i = descriptors.size() - 1; i >= 0; i--) cudnnBackendDestroyDescriptor(descriptors.get(i));
            descriptors.clear();
            pointers.close();
            workspacePointer.close();
            uidArray.close();
        }
    }

    private static void check(int status, String operation) {
        if (status == CUDNN_STATUS_SUCCESS) return;
        String detail;
        try (BytePointer message = new BytePointer(1024)) {
            cudnnGetLastErrorString(message, 1024);
            detail = message.getString();
        }
        throw new CudaException("cudnn", operation, status, cudnnGetErrorString(status).getString(), detail.isEmpty() ? null : detail);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            ctx.sync("closing cuDNN attention");
        } catch (RuntimeException e) {
            // a broken context: free what can be freed all the same
        }
        for (Plan p : plans.values()) if (p != null) p.close();
        plans.clear();
        if (workspace != null) workspace.close();
        cudnnDestroy(handle);
        scaleValue.close();
    }
}
