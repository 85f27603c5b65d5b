package io.lfmcap.cpu;

import java.util.List;

/**
 * HF {@code Lfm2ShortConv} (docs/model-lfm2-vl.md section 5):
 * <pre>
 *   B, C, X = split(in_proj(x), 3)                 along features, in that order
 *   U = B * X
 *   Y[t] = sum_k w[:, k] * U[t - (L-1) + k]        causal depthwise conv, U before the chunk from the state
 *   out = out_proj(C * Y)                          added onto the residual stream
 * </pre>
 */
final class ShortConvLayer {
    private final int hidden;
    private final int kernel;
    private final PackedMatrix inProj;
    private final float[] inBias;
    /** conv.weight {@code [H, 1, L]} as {@code [H][L]}; tap k multiplies U[t - (L-1) + k]. */
    private final float[] taps;
    private final float[] convBias;
    private final PackedMatrix outProj;
    private final float[] outBias;

    ShortConvLayer(WeightLoader w, String prefix, int hidden, int kernel, boolean bias) {
        this.hidden = hidden;
        this.kernel = kernel;
        inProj = w.matrix(prefix + "in_proj.weight", 3 * hidden, hidden);
        inBias = w.optionalFloats(bias, prefix + "in_proj.bias", 3 * hidden);
        taps = w.floats(prefix + "conv.weight", hidden, 1, kernel);
        convBias = w.optionalFloats(bias, prefix + "conv.bias", hidden);
        outProj = w.matrix(prefix + "out_proj.weight", hidden, hidden);
        outBias = w.optionalFloats(bias, prefix + "out_proj.bias", hidden);
    }

    /** Fresh state: {@code (L-1) x H} zeros (HF starts from an empty cache). */
    float[] newState() { return new float[(kernel - 1) * hidden]; }

    /**
     * @param normed operator_norm output {@code [rows, H]}
     * @param x      residual stream {@code [rows, H]}, updated in place
     * @param bcx    scratch {@code [rows, 3H]}
     * @param y      scratch {@code [rows, H]}
     */
    void forward(Parallel parallel, int layer, List<Segment> segments, int rows, float[] normed, float[] x, float[] bcx, float[] y) {
        MatMul.multiply(parallel, normed, rows, inProj, inBias, bcx, false);
        for (Segment s : segments) convolve(s.sequence().convState(layer), bcx, y, s.firstRow(), s.rows());
        MatMul.multiply(parallel, y, rows, outProj, outBias, x, true);
    }

    /** Gated causal conv over one sequence's rows, carrying its state across calls. */
    void convolve(float[] state, float[] bcx, float[] y, int firstRow, int rows) {
        int h3 = 3 * hidden;
        int history = kernel - 1;
        // U = B * X, written over B.
        for (int t = firstRow; t < firstRow + rows; t++)
            for (int c = 0; c < hidden; c++) bcx[t * h3 + c] = bcx[t * h3 + c] * bcx[t * h3 + 2 * hidden + c];
        for (int i = 0; i < rows; i++) {
            int t = firstRow + i;
            for (int c = 0; c < hidden; c++) {
                float acc = 0f;
                for (int k = 0; k < kernel; k++) {
                    int rel = i - history + k;                      // time of this tap relative to the chunk
                    float u = rel >= 0 ? bcx[(firstRow + rel) * h3 + c] : state[(history + rel) * hidden + c];
                    float term = taps[c * kernel + k] * u;
                    acc = k == 0 ? term : acc + term;
                }
                if (convBias != null) acc += convBias[c];
                y[t * hidden + c] = bcx[t * h3 + hidden + c] * acc;
            }
        }
        // New state: the last L-1 values of U over (old state ++ this chunk).
        int fromChunk = Math.min(rows, history);
        int kept = history - fromChunk;
        System.arraycopy(state, fromChunk * hidden, state, 0, kept * hidden);
        for (int j = 0; j < fromChunk; j++)
            System.arraycopy(bcx, (firstRow + rows - fromChunk + j) * h3, state, (kept + j) * hidden, hidden);
    }
}
