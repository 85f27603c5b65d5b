package io.lfmcap.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses a request's next token from the last position's logits, in transformers' order
 * ({@code GenerationMixin._get_logits_processor}): repetition penalty over every token of the sequence
 * so far (prompt and image placeholders included), end-of-sequence suppression, then temperature,
 * top-p, min-p and a multinomial draw. Greedy takes the argmax, the lowest id on ties (torch.argmax).
 * One sampler per request; not thread-safe.
 */
final class TokenSampler {
    private final SamplingParams params;
    private final int eosTokenId;
    private final boolean suppressEos;
    private final boolean[] seen;
    /** The distinct ids of {@link #seen}, in the order first seen: the penalty touches only these. */
    private int[] seenIds = new int[0];
    private int seenCount;
    private final SplittableRandom random;
    private final ModelBackend.Candidates candidates;
    /** Scratch of the draws, kept between tokens: probabilities (general path), kept ids and weights (min-p path). */
    private double[] probs;
    private int[] keptIds = new int[16];
    private double[] keptWeights = new double[16];

    TokenSampler(SamplingParams params, int vocabSize, int[] promptIds, int eosTokenId, boolean suppressEos) {
        this.params = params;
        this.eosTokenId = eosTokenId;
        this.suppressEos = suppressEos;
        this.random = new SplittableRandom(params.seed());
        if (params.repetitionPenalty() != 1.0) {
            seen = new boolean[vocabSize];
            for (int id : promptIds) see(id);
        } else {
            seen = null;
        }
        this.candidates = candidatesOf(params, seen != null);
    }

    /** Picks the next token; {@code logits} is scratch and is modified. */
    int next(float[] logits) {
        if (seen != null) applyRepetitionPenalty(logits);
        if (suppressEos && eosTokenId >= 0 && eosTokenId < logits.length) logits[eosTokenId] = Float.NEGATIVE_INFINITY;
        int token = params.greedy() ? argmax(logits) : draw(logits);
        if (seen != null) see(token);
        return token;
    }

    /**
     * The logits {@link #next(ModelBackend.SparseLogits)} decides from, when it can: greedy under a repetition penalty
     * looks at the seen ids (the penalty moves only theirs) and the largest of the others (offset 0); the min-p draw
     * without top-p at the seen ids and every other id within temperature x ln(min_p) of the largest other logit (no
     * lower one reaches min_p x the top probability, whatever the penalty does to the seen ones). Null: every logit.
     */
    ModelBackend.Candidates candidates() { return candidates; }

    private static ModelBackend.Candidates candidatesOf(SamplingParams params, boolean penalty) {
        if (params.greedy()) return penalty ? new ModelBackend.Candidates(0f, true) : null;
        if (params.topP() < 1.0 || params.minP() <= 0) return null;
        return new ModelBackend.Candidates((float) (params.temperature() * Math.log(params.minP())), penalty);
    }

    /**
     * {@link #next(float[])} from the {@link #candidates()} of a row only (ids ascending, end-of-sequence left out
     * when suppressed): the same token, since every id left out would be skipped by the full row's pass, and the
     * kept ones are visited in the same order. {@code c}'s logits are scratch and are modified.
     */
    int next(ModelBackend.SparseLogits c) {
        int n = c.count();
        int[] ids = c.ids();
        float[] logits = c.logits();
        if (n < 1) throw new IllegalArgumentException("no candidate logits to choose from");
        if (seen != null) {
            float p = (float) params.repetitionPenalty();
            for (int k = 0; k < n; k++) if (seen[ids[k]]) logits[k] = logits[k] < 0 ? logits[k] * p : logits[k] / p;
        }
        if (suppressEos) for (int k = 0; k < n; k++) if (ids[k] == eosTokenId) logits[k] = Float.NEGATIVE_INFINITY;
        int token;
        if (params.greedy()) {
            token = ids[argmax(logits, n)];
        } else {
            double t = params.temperature();
            token = drawMinP(logits, ids, n, t, largest(logits, n) / t);
        }
        if (seen != null) see(token);
        return token;
    }

    private void see(int id) {
        if (seen[id]) return;
        seen[id] = true;
        if (seenCount == seenIds.length) seenIds = Arrays.copyOf(seenIds, Math.max(16, 2 * seenCount));
        seenIds[seenCount++] = id;
    }

    /** HF RepetitionPenaltyLogitsProcessor: score < 0 ? score * p : score / p, once per distinct token. */
    private void applyRepetitionPenalty(float[] logits) {
        float p = (float) params.repetitionPenalty();
        for (int k = 0; k < seenCount; k++) {
            int i = seenIds[k];
            logits[i] = logits[i] < 0 ? logits[i] * p : logits[i] / p;
        }
    }

    static int argmax(float[] logits) { return argmax(logits, logits.length); }

    /** The index of the largest of the first n values, the lowest on ties. */
    private static int argmax(float[] values, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static float largest(float[] values, int n) {
        float largest = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) if (values[i] > largest) largest = values[i];
        return largest;
    }

    /** Temperature, top-p (HF TopPLogitsWarper), min-p (HF MinPLogitsWarper), then a draw. */
    private int draw(float[] logits) {
        int n = logits.length;
        double t = params.temperature();
        double max = largest(logits, n) / t;  // = the largest l / t: division by t > 0 keeps the order
        if (params.topP() >= 1.0 && params.minP() > 0) return drawMinP(logits, null, n, t, max);
        if (probs == null || probs.length != n) probs = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = Math.exp(logits[i] / t - max);
            sum += probs[i];
        }
        for (int i = 0; i < n; i++) probs[i] /= sum;

        if (params.topP() < 1.0) keepTopP(probs, params.topP());
        if (params.minP() > 0) {
            // min-p: drop tokens whose probability is below min_p * (highest probability), always keeping the top one.
            double top = 0;
            for (double q : probs) top = Math.max(top, q);
            double threshold = params.minP() * top;
            for (int i = 0; i < n; i++) if (probs[i] < threshold) probs[i] = 0;
        }
        double total = 0;
        for (double q : probs) total += q;
        double u = random.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (probs[i] == 0) continue;
            last = i;
            u -= probs[i];
            if (u < 0) return i;
        }
        return last;
    }

    /**
     * {@link #draw} without top-p: min-p keeps token i when p_i >= min_p * p_max, i.e. when its probability relative
     * to the top one, r_i = exp(l_i / t - max), is at least min_p, which no token with l_i / t < max + ln(min_p) can
     * reach. So only those few candidates are exponentiated, and the draw runs over the relative weights of the kept
     * ones (the softmax's normaliser cancels): about two passes over the logits instead of seven and an exp per
     * token. The recommended LFM2-VL sampling (min_p 0.15) keeps at most 6 tokens. Over the first n logits, of ids
     * {@code ids} (null: their indices).
     */
    private int drawMinP(float[] logits, int[] ids, int n, double t, double max) {
        double minP = params.minP();
        double bound = (max + Math.log(minP)) * t;  // candidates: l >= bound, less a slack; r_i >= min_p decides
        float low = (float) (bound - 1e-6 * (1 + Math.abs(bound)));
        double total = 0;
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (logits[i] < low) continue;
            double r = Math.exp(logits[i] / t - max);
            if (r < minP) continue;
            if (kept == keptIds.length) {
                keptIds = Arrays.copyOf(keptIds, 2 * kept);
                keptWeights = Arrays.copyOf(keptWeights, 2 * kept);
            }
            keptIds[kept] = ids == null ? i : ids[i];
            keptWeights[kept++] = r;
            total += r;
        }
        double u = random.nextDouble() * total;
        for (int k = 0; k < kept; k++) {
            u -= keptWeights[k];
            if (u < 0) return keptIds[k];
        }
        return keptIds[kept - 1];
    }

    /** Keeps the smallest set of most likely tokens whose mass reaches {@code topP} (ascending-sort rule of HF). */
    private static void keepTopP(double[] probs, double topP) {
        Integer[] order = new Integer[probs.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(probs[a], probs[b]));
        double cumulative = 0;
        for (int k = 0; k < order.length - 1; k++) { // the most likely token is always kept
            cumulative += probs[order[k]];
            if (cumulative <= 1 - topP) probs[order[k]] = 0;
            else break;
        }
    }
}
