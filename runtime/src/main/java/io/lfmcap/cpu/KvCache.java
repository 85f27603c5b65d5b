package io.lfmcap.cpu;

import java.util.Arrays;

/**
 * One attention layer's key/value cache for one sequence (post-RoPE keys, as HF's {@code DynamicCache}),
 * stored directly in {@link PackedMatrix} layouts so attention reads it with no copy:
 * <ul>
 *   <li>keys {@code [panel of PANEL tokens][kvHead][d][PANEL]}: per head, a {@code [tokens, headDim]} matrix;</li>
 *   <li>values {@code [token][kvHead][paddedHeadDim]}: per head, a {@code [headDim, tokens]} matrix.</li>
 * </ul>
 * Both are token-major at the outer level, so growing (doubling, up to the sequence capacity) is a copy.
 */
final class KvCache {
    private static final int P = PackedMatrix.PANEL;
    private static final int INITIAL_TOKENS = 256;

    private final int kvHeads;
    private final int headDim;
    private final int paddedHeadDim;
    private final int maxTokens;
    private float[] keys;
    private float[] values;
    private int allocatedTokens;

    KvCache(int kvHeads, int headDim, int maxTokens) {
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.paddedHeadDim = PackedMatrix.panels(headDim) * P;
        this.maxTokens = PackedMatrix.panels(maxTokens) * P;
        allocate(Math.min(this.maxTokens, PackedMatrix.panels(INITIAL_TOKENS) * P));
    }

    private void allocate(int tokens) {
        allocatedTokens = tokens;
        keys = keys == null ? new float[tokens * kvHeads * headDim] : Arrays.copyOf(keys, tokens * kvHeads * headDim);
        values = values == null ? new float[tokens * kvHeads * paddedHeadDim] : Arrays.copyOf(values, tokens * kvHeads * paddedHeadDim);
    }

    /** Stores one token's keys and values (all kv heads, {@code kvHeads * headDim} each, head-major). */
    void put(int position, float[] k, int kOff, float[] v, int vOff) {
        if (position >= allocatedTokens) allocate(Math.min(maxTokens, Math.max(2 * allocatedTokens, PackedMatrix.panels(position + 1) * P)));
        int keyBase = (position / P) * kvHeads * headDim * P + position % P;
        int valueBase = position * kvHeads * paddedHeadDim;
        for (int h = 0; h < kvHeads; h++) {
            for (int d = 0; d < headDim; d++) {
                keys[keyBase + (h * headDim + d) * P] = k[kOff + h * headDim + d];
                values[valueBase + h * paddedHeadDim + d] = v[vOff + h * headDim + d];
            }
        }
    }

    /** Keys of head h over the first {@code tokens} positions, {@code [tokens, headDim]}. */
    PackedMatrix keys(int head, int tokens) {
        return PackedMatrix.view(keys, head * headDim * P, kvHeads * headDim * P, P, tokens, headDim);
    }

    /** Values of head h over the first {@code tokens} positions, {@code [headDim, tokens]}. */
    PackedMatrix values(int head, int tokens) {
        return PackedMatrix.view(values, head * paddedHeadDim, P, kvHeads * paddedHeadDim, headDim, tokens);
    }
}
