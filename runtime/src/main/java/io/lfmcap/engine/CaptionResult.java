package io.lfmcap.engine;

/**
 * A finished caption.
 *
 * @param tokens        the generated token ids (the end-of-sequence token excluded)
 * @param promptTokens  tokens in the prompt, image placeholders included
 * @param imageTokens   image placeholder tokens in the prompt
 */
public record CaptionResult(String id, String text, int[] tokens, int promptTokens, int imageTokens,
                            int imageWidth, int imageHeight, FinishReason finishReason, Timings timings) {

    public int generatedTokens() { return tokens.length; }

    /** Where a request's time went, in nanoseconds. */
    public record Timings(long queuedNanos, long preprocessNanos, long visionNanos, long prefillNanos, long decodeNanos) {
        public long totalNanos() { return queuedNanos + preprocessNanos + visionNanos + prefillNanos + decodeNanos; }
    }
}
