package io.lfmcap.engine;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** One request between prefill and its last token: its caches, sampler, tokens so far and timings. */
final class ActiveSequence {
    final String id;
    // What the tokens and the result need of the request; not the request itself, whose image and patches (hundreds
    // of KB to tens of MB) would otherwise stay reachable until the last token: ~1.6 GB of patches through every
    // decode step at batch 2048 (docs/PERF_NOTES.md v18).
    private final SamplingParams sampling;
    private final int maxNewTokens;
    private final boolean suppressEos;
    private final int promptTokens, imageTokens, imageWidth, imageHeight;
    private final long preprocessNanos;
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
        CaptionRequest r = prepared.request();
        this.id = r.id();
        this.sampling = r.sampling();
        this.maxNewTokens = r.maxNewTokens();
        this.suppressEos = r.suppressEos();
        this.promptTokens = prepared.promptIds().length;
        this.imageTokens = prepared.imageTokens();
        this.imageWidth = prepared.imageWidth();
        this.imageHeight = prepared.imageHeight();
        this.preprocessNanos = prepared.preprocessNanos();
        this.future = future;
        this.state = state;
        this.sampler = sampler;
        this.eosTokenId = eosTokenId;
        this.queuedNanos = queuedNanos;
    }

    /** The token to feed the next decode step. */
    int lastToken() { return lastToken; }

    /** Whether one more token ends this sequence by length (it needs no decode step after the next one). */
    boolean oneTokenLeft() { return count + 1 >= maxNewTokens; }

    /** Set when the sequence has been retired; an overlapped step launched before that may still carry it. */
    boolean retired;

    /**
     * How the backend should choose this sequence's next token: greedy where the logits are when the request
     * is plain greedy (no repetition penalty), with end-of-sequence banned when suppressed; else on the host, from
     * the candidates its sampler names when it can (TokenSampler.candidates) or from the whole row.
     */
    ModelBackend.Pick pick() {
        int banned = suppressEos ? eosTokenId : -1;
        if (sampling.greedy() && sampling.repetitionPenalty() == 1.0) return ModelBackend.Pick.greedy(banned);
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
        if (token == eosTokenId && !suppressEos) return FinishReason.STOP;
        if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
        generated[count++] = token;
        lastToken = token;
        return count >= maxNewTokens ? FinishReason.LENGTH : null;
    }

    CaptionResult result(FinishReason reason, Function<int[], String> detokenizer) {
        int[] tokens = Arrays.copyOf(generated, count);
        return new CaptionResult(id, detokenizer.apply(tokens), tokens, promptTokens, imageTokens, imageWidth, imageHeight, reason,
                new CaptionResult.Timings(queuedNanos, preprocessNanos, visionNanos, prefillNanos, decodeNanos));
    }
}
