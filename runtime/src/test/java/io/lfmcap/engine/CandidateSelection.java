package io.lfmcap.engine;

import java.util.Arrays;

/**
 * The rule a backend applies to hand a host pick only its {@link ModelBackend.Candidates} (the CUDA kernel
 * logit_candidates, written again plainly for tests): ids ascending, never the banned one; every seen id, and every
 * other id whose logit reaches M + offset less a rounding slack, M the largest logit among the other ids.
 */
public final class CandidateSelection {
    private CandidateSelection() {}

    public static ModelBackend.SparseLogits select(float[] logits, ModelBackend.Candidates c, boolean[] seen, int banned) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) if (i != banned && !isSeen(c, seen, i)) m = Math.max(m, logits[i]);
        float threshold = m + c.offset() - slack(m, c.offset());
        int[] ids = new int[logits.length];
        float[] values = new float[logits.length];
        int n = 0;
        for (int i = 0; i < logits.length; i++) {
            if (i == banned || !(isSeen(c, seen, i) || logits[i] >= threshold)) continue;
            ids[n] = i;
            values[n++] = logits[i];
        }
        return new ModelBackend.SparseLogits(Arrays.copyOf(ids, n), Arrays.copyOf(values, n), n);
    }

    /** kernels.cu logit_candidates: 1e-4 x (1 + |M| + |offset|), far above float rounding of M + offset. */
    public static float slack(float m, float offset) { return 1e-4f * (1f + Math.abs(m) + Math.abs(offset)); }

    private static boolean isSeen(ModelBackend.Candidates c, boolean[] seen, int i) { return c.seen() && seen[i]; }
}
