package io.lfmcap.engine;

/**
 * Turns a request into model inputs (decode, resize, tile, patchify, prompt ids). Runs on the
 * engine's preprocessing threads, concurrently; implementations must be thread-safe.
 */
@FunctionalInterface
interface RequestPreparer {
    /** @throws CaptionException for a bad input (named), never for an engine fault */
    PreparedRequest prepare(CaptionRequest request, long submittedNanos);
}
