package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * Device time per phase (vision, prefill, decode), measured with CUDA events on the context's stream: a pair
 * of events is recorded around each phase's launches, and read back after the call's own synchronisation
 * ({@link #settle()}), so timing adds no sync of its own. Totals only grow; {@link #millis} reads them.
 */
final class PhaseClock implements AutoCloseable {
    enum Phase { VISION, PREFILL, DECODE }

    private static final int PAIRS = 64;

    private final GpuContext ctx;
    private final CUevent_st[] events = new CUevent_st[2 * PAIRS];
    private final Phase[] phaseOf = new Phase[PAIRS];
    private final double[] totals = new double[Phase.values().length];
    private final long[] counts = new long[Phase.values().length];
    private final float[] elapsed = new float[1];
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

    /** After the stream has been synchronised: adds the recorded pairs to the totals and frees them. */
    void settle() {
        for (int i = 0; i < used; i++) {
            Cuda.check(cudaEventElapsedTime(elapsed, events[2 * i], events[2 * i + 1]), "cudaEventElapsedTime");
            totals[phaseOf[i].ordinal()] += elapsed[0];
            counts[phaseOf[i].ordinal()]++;
        }
        used = 0;
        open = -1;
    }

    /** Device milliseconds spent in {@code phase} so far. */
    double millis(Phase phase) { return totals[phase.ordinal()]; }

    /** Passes timed in {@code phase} so far. */
    long count(Phase phase) { return counts[phase.ordinal()]; }

    @Override
    public void close() {
        for (CUevent_st e : events) if (e != null) cudaEventDestroy(e);
    }
}
