package io.lfmcap.engine;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** One request between prefill and its last token: its caches, sampler, tokens so far and timings. */
final class ActiveSequence {
    final PreparedRequest prepared;
    final CompletableFuture<CaptionResult> future;
    final ModelBackend.SequenceState state;
    private final TokenSampler sampler;
    private final int eosTokenId;
    private int[] generated = new int[16];
    private int count;
    private int lastToken = -1;
    final long queuedNanos;
    long visionNanos;
    long prefillNanos;
    long decodeNanos;

    ActiveSequence(PreparedRequest prepared, CompletableFuture<CaptionResult> future, ModelBackend.SequenceState state,
                   TokenSampler sampler, int eosTokenId, long queuedNanos) {
        this.prepared = prepared;
        this.future = future;
        this.state = state;
        this.sampler = sampler;
        this.eosTokenId = eosTokenId;
        this.queuedNanos = queuedNanos;
    }

    /** The token to feed the next decode step. */
    int lastToken() { return lastToken; }

    /**
     * Samples the next token from {@code logits}; returns the finish reason when the sequence is done
     * (end-of-sequence chosen, or max new tokens reached), else null.
     */
    FinishReason accept(float[] logits) {
        int token = sampler.next(logits);
        if (token == eosTokenId && !prepared.request().suppressEos()) return FinishReason.STOP;
        if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
        generated[count++] = token;
        lastToken = token;
        return count >= prepared.request().maxNewTokens() ? FinishReason.LENGTH : null;
    }

    CaptionResult result(FinishReason reason, Function<int[], String> detokenizer) {
        int[] tokens = Arrays.copyOf(generated, count);
        return new CaptionResult(prepared.request().id(), detokenizer.apply(tokens), tokens, prepared.promptIds().length,
                prepared.imageTokens(), prepared.imageWidth(), prepared.imageHeight(), reason,
                new CaptionResult.Timings(queuedNanos, prepared.preprocessNanos(), visionNanos, prefillNanos, decodeNanos));
    }
}
