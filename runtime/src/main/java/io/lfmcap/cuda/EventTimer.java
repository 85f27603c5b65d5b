package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUevent_st;

/** Device time of the launches between {@link #start} and {@link #stopMillis} on a context's stream (a pair of CUDA events). */
final class EventTimer implements AutoCloseable {
    private final GpuContext ctx;
    private final CUevent_st start = new CUevent_st();
    private final CUevent_st stop = new CUevent_st();
    private final float[] elapsed = new float[1];

    EventTimer(GpuContext ctx) {
        this.ctx = ctx;
        Cuda.check(cudaEventCreate(start), "cudaEventCreate");
        try {
            Cuda.check(cudaEventCreate(stop), "cudaEventCreate");
        } catch (RuntimeException e) {
            cudaEventDestroy(start);
            throw e;
        }
    }

    void start() { Cuda.check(cudaEventRecord(start, ctx.stream), "cudaEventRecord"); }

    /** Waits for the launches since {@link #start} and returns their device milliseconds. */
    double stopMillis() {
        Cuda.check(cudaEventRecord(stop, ctx.stream), "cudaEventRecord");
        Cuda.check(cudaEventSynchronize(stop), "cudaEventSynchronize");
        Cuda.check(cudaEventElapsedTime(elapsed, start, stop), "cudaEventElapsedTime");
        return elapsed[0];
    }

    @Override
    public void close() {
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
    }
}
