package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * Device time per phase (vision, prefill, decode), measured with CUDA events on the context's stream: a pair
 * of events is recorded around each phase's launches, and read back once the phase has completed
 * ({@link #settle()}, after the call's own wait), so timing adds no sync of its own. Totals only grow; {@link #millis} reads them.
 * The stream's time between one phase's end and the next one's start ({@link #gapMillis}, by the pair of phases)
 * is the device waiting for the host (or running the few small copies and kernels outside phases); a chain of phases
 * ends at {@link #endChain()}, so a pause in the caller's work is not counted.
 */
final class PhaseClock implements AutoCloseable {
    enum Phase {
        VISION("vision"), PREFILL("prefill"), DECODE("decode");

        final String label;

        Phase(String label) { this.label = label; }
    }

    private static final int PAIRS = 64;

    private final GpuContext ctx;
    private final CUevent_st[] events = new CUevent_st[2 * PAIRS];
    private final Phase[] phaseOf = new Phase[PAIRS];
    private final double[] totals = new double[Phase.values().length];
    private final long[] counts = new long[Phase.values().length];
    private final double[][] gaps = new double[Phase.values().length][Phase.values().length];
    private final float[] elapsed = new float[1];
    /** The end of the last settled phase (an event object swapped out of the pool), while the chain goes on. */
    private CUevent_st lastEnd = new CUevent_st();
    private Phase lastPhase;  // null: no chain
    private int open = -1;
    private int used;

    PhaseClock(GpuContext ctx) {
        this.ctx = ctx;
        int made = 0;
        try {
            for (; made < events.length; made++) {
                events[made] = new CUevent_st();
                Cuda.check(cudaEventCreate(events[made]), "cudaEventCreate");
            }
            Cuda.check(cudaEventCreate(lastEnd), "cudaEventCreate");
        } catch (RuntimeException e) {
            for (int i = 0; i < made; i++) cudaEventDestroy(events[i]);
            throw e;
        }
    }

    /** Marks the start of {@code phase}'s launches on the stream (ignored when every pair is in use). */
    void start(Phase phase) {
        if (used == PAIRS) return;
        Cuda.check(cudaEventRecord(events[2 * used], ctx.stream), "cudaEventRecord");
        phaseOf[used] = phase;
        open = used;
    }

    /** Marks the end of the phase last started. */
    void stop() {
        if (open < 0) return;
        Cuda.check(cudaEventRecord(events[2 * open + 1], ctx.stream), "cudaEventRecord");
        used = open + 1;
        open = -1;
    }

    /**
     * Adds the recorded pairs whose phase has completed on the device to the totals and frees them; pairs still
     * running (an overlapped decode step launched after the one just read) stay for a later settle.
     */
    void settle() {
        int kept = 0;
        for (int i = 0; i < used; i++) {
            if (cudaEventQuery(events[2 * i + 1]) == cudaErrorNotReady) {
                if (kept != i) keep(i, kept);
                kept++;
                continue;
            }
            Cuda.check(cudaEventElapsedTime(elapsed, events[2 * i], events[2 * i + 1]), "cudaEventElapsedTime");
            totals[phaseOf[i].ordinal()] += elapsed[0];
            counts[phaseOf[i].ordinal()]++;
            if (lastPhase != null) {
                Cuda.check(cudaEventElapsedTime(elapsed, lastEnd, events[2 * i]), "cudaEventElapsedTime");
                gaps[lastPhase.ordinal()][phaseOf[i].ordinal()] += Math.max(0f, elapsed[0]);
            }
            CUevent_st end = events[2 * i + 1];  // keep this phase's end for the next one's gap
            events[2 * i + 1] = lastEnd;
            lastEnd = end;
            lastPhase = phaseOf[i];
        }
        used = kept;
        open = -1;
    }

    /** The next phase starts a new chain: the time before it is not a gap. */
    void endChain() { lastPhase = null; }

    /** Device milliseconds between the end of a {@code before} phase and the start of an {@code after} phase that followed it, summed. */
    double gapMillis(Phase before, Phase after) { return gaps[before.ordinal()][after.ordinal()]; }

    /** Moves pair {@code from} to slot {@code to} (swapping the event objects, so every slot keeps its own). */
    private void keep(int from, int to) {
        for (int e = 0; e < 2; e++) {
            CUevent_st t = events[2 * to + e];
            events[2 * to + e] = events[2 * from + e];
            events[2 * from + e] = t;
        }
        phaseOf[to] = phaseOf[from];
    }

    /** Device milliseconds spent in {@code phase} so far. */
    double millis(Phase phase) { return totals[phase.ordinal()]; }

    /** Passes timed in {@code phase} so far. */
    long count(Phase phase) { return counts[phase.ordinal()]; }

    @Override
    public void close() {
        for (CUevent_st e : events) if (e != null) cudaEventDestroy(e);
        cudaEventDestroy(lastEnd);
    }
}
