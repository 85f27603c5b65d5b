package io.lfmcap.cpu;

/**
 * One attention head, HF {@code eager_attention_forward}: {@code softmax(q k^T * scale + mask) v} with an
 * fp32 softmax. Queries go in row blocks, so at most one block of scores ({@link #MAX_SCORES} floats) exists
 * at a time; both products run on {@link MatMul}'s kernels.
 *
 * <pre>
 *   q rows [r0, r1) --MatMul(keys)--> scores [block x keys] --scale, mask, softmax--> p --MatMul(values)--> out rows
 * </pre>
 *
 * Causal masking: query row i sits at position {@code firstPosition + i} and sees keys {@code [0, firstPosition + i]};
 * a key a row cannot see gets probability exactly 0, so rows computed in one call or one per call agree.
 */
final class DotProductAttention {
    /** Upper bound on the scores block (floats) per head at a time. */
    static final int MAX_SCORES = 1 << 20;
    /** {@code firstPosition} value for bidirectional attention (the vision encoder). */
    static final int NOT_CAUSAL = -1;

    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[0]);

    private DotProductAttention() {}

    /**
     * @param q        queries, row i at {@code qOff + i * ldq}, head dim = {@code keys.cols}
     * @param keys     {@code [keyCount, headDim]} packed
     * @param values   {@code [headDim, keyCount]} packed (k runs over keys)
     * @param out      row i written at {@code outOff + i * ldo}, {@code headDim} values
     */
    static void head(float[] q, int qOff, int ldq, int rows, PackedMatrix keys, PackedMatrix values, int keyCount,
                     int firstPosition, float scale, float[] out, int outOff, int ldo) {
        boolean causal = firstPosition != NOT_CAUSAL;
        int maxKeyPanels = PackedMatrix.panels(keyCount);
        int ldS = maxKeyPanels * PackedMatrix.PANEL;
        int block = Math.max(1, Math.min(rows, MAX_SCORES / ldS));
        if (block > MatMul.ROW_BLOCK) block -= block % MatMul.ROW_BLOCK;
        float[] scores = scratch(block * ldS);
        for (int r0 = 0; r0 < rows; r0 += block) {
            int r1 = Math.min(rows, r0 + block);
            int n = r1 - r0;
            int keyEnd = causal ? Math.min(keyCount, firstPosition + r1) : keyCount;
            MatMul.multiplyPanels(q, qOff + r0 * ldq, ldq, n, keys.cols, keys, null, scores, 0, ldS, false,
                    0, PackedMatrix.panels(keyEnd));
            for (int i = 0; i < n; i++) {
                int visible = causal ? Math.min(keyEnd, firstPosition + r0 + i + 1) : keyEnd;
                int row = i * ldS;
                Activations.scaledSoftmax(scores, row, visible, scale);
                java.util.Arrays.fill(scores, row + visible, row + keyEnd, 0f);
            }
            MatMul.multiplyPanels(scores, 0, ldS, n, keyEnd, values, null, out, outOff + r0 * ldo, ldo, false,
                    0, values.panels());
        }
    }

    private static float[] scratch(int size) {
        float[] s = SCORES.get();
        if (s.length < size) {
            s = new float[size];
            SCORES.set(s);
        }
        return s;
    }
}
