package io.lfmcap.engine;

import io.lfmcap.image.PatchGrid;
import java.util.List;

/**
 * The numeric seam between the engine (scheduling, sampling, text) and a device (the fp32 CPU
 * reference, CUDA). One backend holds one model's weights. Calls come from the engine's worker
 * thread(s); a backend need not be thread-safe unless it says so.
 *
 * <p>Shapes are row-major float arrays: embeddings are {@code [tokens, hiddenSize]}, logits are
 * {@code [vocabSize]} for the last position.
 */
public interface ModelBackend extends AutoCloseable {
    /**
     * Vision encoder + projector (docs/model-lfm2-vl.md sections 2-3) for each view, in order;
     * returns the image-token embeddings of all views concatenated: {@code [sum tokens, hiddenSize]}.
     */
    float[] encodeImage(List<PatchGrid> views);

    /** Token embedding rows {@code embed_tokens[ids]}: {@code [ids.length, hiddenSize]}. */
    float[] embedTokens(int[] ids);

    /** A fresh sequence with room for {@code maxTokens} positions (KV and conv caches). */
    SequenceState newSequence(int maxTokens);

    /**
     * Runs {@code length} embeddings through the decoder starting at the sequence's current position,
     * appending to its caches; returns the logits of the last position.
     */
    float[] prefill(SequenceState sequence, float[] embeddings, int length);

    /** One decode step for each sequence with its next token; returns logits per sequence. */
    float[][] decode(List<SequenceState> sequences, int[] tokens);

    int hiddenSize();

    int vocabSize();

    /** Human-readable device, e.g. "cpu (2 threads)". */
    String device();

    /** Counters for reports, by name (device time per phase, memory); empty when the backend keeps none. */
    default java.util.Map<String, Double> stats() { return java.util.Map.of(); }

    /**
     * Whether a sequence of {@code maxTokens} positions can be created now without exceeding the
     * backend's fixed cache budget; the engine admits no more requests while this is false and others
     * are running. Backends without such a budget always say yes.
     */
    default boolean canAllocate(int maxTokens) { return true; }

    /**
     * Vision, embedding merge and prefill of several new sequences in one call, then the choice of each
     * one's first token. The default runs {@link #encodeImage}, {@link #embedTokens}, the image-row merge
     * (HF {@code masked_scatter} at {@code imageTokenId}) and {@link #prefill(SequenceState, float[], int)}
     * per sequence; a device backend overrides it to batch the vision encoder over all views, keep the
     * embeddings on the device and run one packed prefill.
     *
     * @throws IllegalArgumentException when a prompt's placeholder count differs from its views' tokens
     */
    default PassResult prefill(List<SequenceState> sequences, List<Prompt> prompts, int imageTokenId, List<Pick> picks) {
        int n = sequences.size();
        if (prompts.size() != n || picks.size() != n)
            throw new IllegalArgumentException(n + " sequences, " + prompts.size() + " prompts and " + picks.size() + " picks");
        int[] tokens = new int[n];
        float[][] logits = new float[n][];
        long visionNanos = 0;
        for (int i = 0; i < n; i++) {
            Prompt p = prompts.get(i);
            long start = System.nanoTime();
            float[] image = encodeImage(p.views());
            visionNanos += System.nanoTime() - start;
            float[] embeddings = ImageRows.merge(p.ids(), embedTokens(p.ids()), image, hiddenSize(), imageTokenId);
            picks.get(i).apply(prefill(sequences.get(i), embeddings, p.ids().length), i, tokens, logits);
        }
        return new PassResult(tokens, logits, visionNanos);
    }

    /**
     * One decode step like {@link #decode(List, int[])}, with each sequence's next token chosen as its
     * {@link Pick} says (greedy picks may be made on the device, so that only token ids leave it).
     */
    default PassResult decode(List<SequenceState> sequences, int[] tokens, List<Pick> picks) {
        if (picks.size() != sequences.size())
            throw new IllegalArgumentException(sequences.size() + " sequences but " + picks.size() + " picks");
        float[][] all = decode(sequences, tokens);
        int[] next = new int[all.length];
        float[][] logits = new float[all.length][];
        for (int i = 0; i < all.length; i++) picks.get(i).apply(all[i], i, next, logits);
        return new PassResult(next, logits, 0);
    }

    /**
     * Starts one decode step like {@link #decode(List, int[], List)} and returns a handle to its result. A backend
     * that {@link #overlapsDecode() overlaps} returns before the step has run, so that the caller can launch the next
     * step before reading this one, and takes {@code tokens[i] < 0} to mean: feed sequence i the token its greedy
     * pick chose in the step launched just before this one (never read back to the host in between). Results are
     * read in launch order. The default runs the step at once (and needs every token).
     */
    default LaunchedStep launchDecode(List<SequenceState> sequences, int[] tokens, List<Pick> picks) {
        PassResult result = decode(sequences, tokens, picks);
        return () -> result;
    }

    /** Whether {@link #launchDecode} returns before the step has run and accepts tokens the device picked. */
    default boolean overlapsDecode() { return false; }

    /** A decode step started by {@link #launchDecode}. */
    interface LaunchedStep {
        /** Waits for the step and returns its outcome (greedy picks; logits for host picks). */
        PassResult result();
    }

    @Override
    void close();

    /** A new sequence's prompt: token ids with image placeholders, and the views whose features fill them, in order. */
    record Prompt(int[] ids, List<PatchGrid> views) {}

    /**
     * How a sequence's next token is chosen after a pass: on the host from its logits ({@link #HOST}), or
     * greedily (argmax, lowest id on ties as {@code torch.argmax}, never {@code bannedToken}; -1 bans
     * nothing) wherever the logits are. A host pick with {@link Candidates} needs only some of the logits;
     * a backend may hand those over as {@link SparseLogits} instead of the whole row.
     */
    record Pick(boolean greedy, int bannedToken, Candidates candidates) {
        public static final Pick HOST = new Pick(false, -1, null);

        public static Pick greedy(int bannedToken) { return new Pick(true, bannedToken, null); }

        /** A host pick that needs only the logits {@code candidates} names, never {@code bannedToken}'s. */
        public static Pick candidates(int bannedToken, Candidates candidates) { return new Pick(false, bannedToken, candidates); }

        /** Stores sequence {@code i}'s outcome from its logits: a token (greedy, logits dropped) or the logits (token -1). */
        void apply(float[] rowLogits, int i, int[] tokens, float[][] logits) {
            if (greedy) {
                if (bannedToken >= 0 && bannedToken < rowLogits.length) rowLogits[bannedToken] = Float.NEGATIVE_INFINITY;
                tokens[i] = TokenSampler.argmax(rowLogits);
            } else {
                tokens[i] = -1;
                logits[i] = rowLogits;
            }
        }
    }

    /**
     * Which logits a host pick can be decided from (TokenSampler's greedy choice under a repetition penalty and its
     * min-p draw without top-p): those of every token the sequence has seen when {@code seen} (the prompt's ids and
     * every token fed to a decode step since: the ids a repetition penalty changes), and of every other token whose
     * logit reaches {@code M + offset}, M the largest logit among the other tokens. {@code offset <= 0}: temperature
     * x ln(min_p) for a min-p draw, 0 for greedy. A backend may take in a few more (rounding slack).
     */
    record Candidates(float offset, boolean seen) {
        public Candidates {
            if (!(offset <= 0)) throw new IllegalArgumentException("candidate offset must be <= 0, got " + offset);
        }
    }

    /** Some of a row's logits: {@code count} (id, logit) pairs, ids ascending. */
    record SparseLogits(int[] ids, float[] logits, int count) {}

    /**
     * Per sequence of a pass: the chosen token where its pick was greedy, else -1 and its last position's
     * logits (whole, or for a pick with candidates possibly only those, in {@code candidates}); and the time the
     * pass spent in the vision encoder.
     */
    record PassResult(int[] tokens, float[][] logits, SparseLogits[] candidates, long visionNanos) {
        public PassResult(int[] tokens, float[][] logits, long visionNanos) { this(tokens, logits, new SparseLogits[tokens.length], visionNanos); }
    }

    /** Per-sequence decoder state: position and caches. Closing frees them. */
    interface SequenceState extends AutoCloseable {
        /** Tokens already in the caches (the next position). */
        int position();

        int capacity();

        @Override
        void close();
    }
}
