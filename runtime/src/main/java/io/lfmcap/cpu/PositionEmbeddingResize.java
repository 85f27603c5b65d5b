package io.lfmcap.cpu;

/**
 * The NaFlex position-embedding resize (HF {@code Siglip2VisionEmbeddings.resize_positional_embeddings}):
 * the learned {@code side x side} grid resized to the view's patch grid with {@code F.interpolate(
 * mode="bilinear", align_corners=False, antialias=True)} on fp32, reproduced from PyTorch's separable CPU
 * kernel (aten/src/ATen/native/cpu/UpSampleKernel.cpp, {@code _compute_indices_min_size_weights_aa}):
 * triangle filter widened by the scale when downsampling, weights normalised, width pass then height pass,
 * an axis whose size does not change is skipped, and the same float/double mix in the index arithmetic.
 */
public final class PositionEmbeddingResize {
    private PositionEmbeddingResize() {}

    /** Per output index along one axis: first input index, count, and normalised weights ({@code maxTaps} apart). */
    public record AxisWeights(int[] first, int[] count, float[] weights, int maxTaps) {}

    /**
     * @param table {@code [side * side, dim]}, grid cell (i, j) at row {@code i * side + j}
     * @return {@code [outH * outW, dim]}, cell (r, c) at row {@code r * outW + c}
     */
    static float[] resize(float[] table, int side, int dim, int outH, int outW) {
        float[] rows = table;
        if (outW != side) rows = resizeAxis(table, side, side, dim, axisWeights(side, outW), true);
        if (outH != side) rows = resizeAxis(rows, side, outW, dim, axisWeights(side, outH), false);
        return rows == table ? table.clone() : rows;
    }

    /** Resizes along width (horizontal) or height of a {@code [h, w, dim]} grid. */
    private static float[] resizeAxis(float[] in, int h, int w, int dim, AxisWeights aw, boolean horizontal) {
        int outLen = aw.first.length;
        int oh = horizontal ? h : outLen;
        int ow = horizontal ? outLen : w;
        float[] out = new float[oh * ow * dim];
        for (int r = 0; r < oh; r++) {
            for (int c = 0; c < ow; c++) {
                int o = horizontal ? c : r;
                int first = aw.first[o];
                int count = aw.count[o];
                int wOff = o * aw.maxTaps;
                int dst = (r * ow + c) * dim;
                for (int ch = 0; ch < dim; ch++) {
                    float acc = 0f;
                    for (int j = 0; j < count; j++) {
                        int src = horizontal ? (r * w + first + j) * dim + ch : ((first + j) * w + c) * dim + ch;
                        float t = in[src] * aw.weights[wOff + j];
                        acc = j == 0 ? t : acc + t;
                    }
                    out[dst + ch] = acc;
                }
            }
        }
        return out;
    }

    /**
     * PyTorch's antialiased bilinear taps for one axis {@code in -> out} (interp_size 2, fp32 scale);
     * also what the CUDA backend uploads for its position-add kernel.
     */
    public static AxisWeights axisWeights(int in, int out) {
        float scale = (float) in / (float) out;
        float support = scale >= 1.0 ? (float) (1.0 * scale) : 1.0f;
        float invScale = scale >= 1.0 ? (float) (1.0 / scale) : 1.0f;
        int maxTaps = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[out];
        int[] count = new int[out];
        float[] weights = new float[out * maxTaps];
        for (int i = 0; i < out; i++) {
            float center = (float) (scale * (i + 0.5));
            long xmin = Math.max((long) ((double) (center - support) + 0.5), 0L);
            long xsize = Math.min((long) ((double) (center + support) + 0.5), (long) in) - xmin;
            xsize = Math.max(0, Math.min(xsize, maxTaps));
            float total = 0f;
            for (int j = 0; j < xsize; j++) {
                float w = triangle((float) (((double) ((float) (j + xmin) - center) + 0.5) * invScale));
                weights[i * maxTaps + j] = w;
                total += w;
            }
            if (total != 0f) for (int j = 0; j < xsize; j++) weights[i * maxTaps + j] /= total;
            first[i] = (int) xmin;
            count[i] = (int) xsize;
        }
        return new AxisWeights(first, count, weights, maxTaps);
    }

    /** PyTorch {@code HelperInterpLinear::aa_filter}. */
    private static float triangle(float x) {
        x = Math.abs(x);
        return x < 1.0f ? (float) (1.0 - x) : 0f;
    }
}
