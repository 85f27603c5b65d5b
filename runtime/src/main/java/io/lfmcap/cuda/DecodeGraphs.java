package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;

/**
 * One CUDA graph per decode batch size, pick slot and pass-array staging: a decode step is ~150 launches (GEMMs, norms, conv, attention,
 * argmax) whose host-side launch cost dominates at small batches; replaying a captured graph issues them
 * as one. A step's kernel arguments are fixed per batch size: weights, workspaces, KV pages and the pass
 * arrays ({@link PassUpload}, reset before every step and filled in the same order, so a batch size always
 * gets the same device addresses); everything that changes from step to step (token ids, positions, slots,
 * key counts, banned tokens) is read from those device arrays: at small batches the step's first kernel copies them from
 * their staging in pinned host memory ({@link PassUpload#sendByKernel}: two halves, taken in turn), at large ones a copy
 * before the replay does. That staging and the pinned host slot that lm_head or argmax writes the picks into ({@link
 * LaunchedSteps}: two, taken in turn) are kernel arguments too, so a batch size has a graph for each pair in use (two to
 * four).
 * <pre>
 *   first step of size n:   eager (lazy module loads and cuBLAS algorithm choice happen outside capture)
 *   second step of size n:  capture (thread-local mode) -> instantiate -> replay
 *   later steps of size n:  replay (checks the pass arrays sit where they were captured)
 * </pre>
 * A capture that fails turns graphs off for this decoder; the step then runs eagerly.
 */
final class DecodeGraphs implements AutoCloseable {
    /** The launches of one step, enqueued on the context's stream with no synchronisation. */
    interface Step {
        void enqueue();
    }

    private record Captured(CUgraph_st graph, CUgraphExec_st exec, long arraysAt) {}

    /** What a graph is captured for: a batch size, the host slot its picks go to (0: none), and where its pass arrays are staged. */
    private record Key(int size, long pickCopy, long staged) {}

    private final GpuContext ctx;
    private final Map<Key, Captured> graphs = new HashMap<>();
    private final Map<Key, Integer> seen = new HashMap<>();
    private boolean enabled;
    private long bytes;

    DecodeGraphs(GpuContext ctx, boolean enabled) {
        this.ctx = ctx;
        this.enabled = enabled;
    }

    /**
     * Runs {@code step} for a batch of {@code size} whose picks also go to host slot {@code pickCopy} (0: none) and whose
     * pass arrays are staged at {@code staged}: replays its graph, captures one, or enqueues it eagerly. {@code arraysAt} is the device address of the step's last pass
     * array (it moves when any earlier array does; a graph is only valid while it stays).
     */
    void run(int size, long pickCopy, long staged, long arraysAt, Step step) {
        Key key = new Key(size, pickCopy, staged);
        Captured g = graphs.get(key);
        if (g == null) {
            int uses = seen.merge(key, 1, Integer::sum);
            if (uses > 2) { // graphs off, or this size's capture failed
                step.enqueue();
                return;
            }
            // a size's first step runs eagerly (its first use may load GEMM kernels lazily), its second is captured;
            // the device memory either takes is counted (this is the only allocating thread)
            long freeBefore = GpuContext.memoryInfo()[0];
            if (uses == 2 && enabled) g = capture(size, arraysAt, step);
            if (g != null) {
                graphs.put(key, g);
                launch(g, size, arraysAt);
            } else {
                step.enqueue();
            }
            bytes += freeBefore - GpuContext.memoryInfo()[0];
            return;
        }
        launch(g, size, arraysAt);
    }

    private void launch(Captured g, int size, long arraysAt) {
        if (g.arraysAt() != arraysAt)
            throw new IllegalStateException("decode pass arrays moved (0x" + Long.toHexString(arraysAt) + ", captured at 0x"
                    + Long.toHexString(g.arraysAt()) + "): the decode step must reset the pass upload first");
        Cuda.check(cudaGraphLaunch(g.exec(), ctx.stream), "cudaGraphLaunch(decode step, batch " + size + ")");
    }

    private Captured capture(int size, long arraysAt, Step step) {
        CUgraph_st graph = new CUgraph_st();
        Cuda.check(cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        RuntimeException failure = null;
        try {
            step.enqueue();
        } catch (RuntimeException e) {
            failure = e;
        }
        int end = cudaStreamEndCapture(ctx.stream, graph);
        if (failure != null || end != 0) {
            if (end == 0) cudaGraphDestroy(graph);
            disable("capture of the batch-" + size + " decode step failed: " + (failure != null ? failure.getMessage() : "cudaStreamEndCapture " + end));
            return null;
        }
        CUgraphExec_st exec = new CUgraphExec_st();
        int rc = cudaGraphInstantiate(exec, graph, 0L);
        if (rc != 0) {
            cudaGraphDestroy(graph);
            disable("cudaGraphInstantiate of the batch-" + size + " decode step returned " + rc);
            return null;
        }
        return new Captured(graph, exec, arraysAt);
    }

    private void disable(String why) {
        enabled = false;
        cudaGetLastError(); // a failed capture leaves a (non-sticky) error behind; clear it
        System.err.println("lfmcap: decode CUDA graphs turned off, steps run eagerly: " + why);
    }

    /** Graphs captured so far (batch sizes and pick slots). */
    int captured() { return graphs.size(); }

    /**
     * Device memory that new batch sizes took: the executable graphs, and kernels loaded lazily by a size's first
     * (eager) step (free memory before minus after each of a size's first two steps, summed). It grows only with
     * batch sizes not seen before, at most maxSequences times.
     */
    long bytes() { return bytes; }

    @Override
    public void close() {
        for (Captured g : graphs.values()) {
            cudaGraphExecDestroy(g.exec());
            cudaGraphDestroy(g.graph());
        }
        graphs.clear();
    }
}
