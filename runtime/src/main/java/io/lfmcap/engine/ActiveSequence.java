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

    /** Whether one more token ends this sequence by length (it needs no decode step after the next one). */
    boolean oneTokenLeft() { return count + 1 >= prepared.request().maxNewTokens(); }

    /** Set when the sequence has been retired; an overlapped step launched before that may still carry it. */
    boolean retired;

    /**
     * How the backend should choose this sequence's next token: greedy where the logits are when the request
     * is plain greedy (no repetition penalty), with end-of-sequence banned when suppressed; else on the host, from
     * the candidates its sampler names when it can (TokenSampler.candidates) or from the whole row.
     */
    ModelBackend.Pick pick() {
        SamplingParams p = prepared.request().sampling();
        int banned = prepared.request().suppressEos() ? eosTokenId : -1;
        if (p.greedy() && p.repetitionPenalty() == 1.0) return ModelBackend.Pick.greedy(banned);
        ModelBackend.Candidates c = sampler.candidates();
        return c != null ? ModelBackend.Pick.candidates(banned, c) : ModelBackend.Pick.HOST;
    }

    /**
     * This sequence's next token from a pass's outcome (row i): its greedy pick, or a draw from its logits (the row,
     * or its candidates). Touches only this sequence's sampler, so different sequences may choose on different threads.
     */
    int choose(ModelBackend.PassResult result, int i) {
        ModelBackend.SparseLogits candidates = result.candidates()[i];
        if (candidates != null) return sampler.next(candidates);
        float[] logits = result.logits()[i];
        return logits != null ? sampler.next(logits) : result.tokens()[i];
    }

    /**
     * Records the next token; returns the finish reason when the sequence is done (end-of-sequence chosen,
     * or max new tokens reached), else null.
     */
    FinishReason accept(int token) {
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
