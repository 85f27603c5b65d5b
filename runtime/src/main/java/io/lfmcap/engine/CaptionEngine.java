package io.lfmcap.engine;

import java.util.concurrent.CompletableFuture;

/**
 * Turns captioning requests into captions. Thread-safe: any number of threads may submit; the engine
 * decides how to batch. A failed request completes its future exceptionally with a
 * {@link CaptionException}; it never affects other requests. Closing fails what is still pending
 * ({@link ErrorClass#CANCELLED}) and frees the engine's native and heap resources.
 */
public interface CaptionEngine extends AutoCloseable {
    CompletableFuture<CaptionResult> submit(CaptionRequest request);

    /** A short description: backend, device, model name. */
    String describe();

    /**
     * Counters of the backend for reports, by name (device time per phase, memory); empty when it keeps none.
     * Added for lfmcap bench (GPU throughput issue).
     */
    default java.util.Map<String, Double> stats() { return java.util.Map.of(); }

    /**
     * False once the engine serves no more requests: closed, or stopped after an internal error (its requests then
     * fail with {@link ErrorClass#ENGINE_ERROR}); a caller that keeps engines should open a new one.
     */
    default boolean serving() { return true; }

    @Override
    void close();
}
