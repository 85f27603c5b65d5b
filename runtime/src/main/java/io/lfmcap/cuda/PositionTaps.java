package io.lfmcap.cuda;

/**
 * PyTorch's antialiased bilinear taps along one axis ({@code F.interpolate(mode="bilinear",
 * align_corners=False, antialias=True)}, aten UpSampleKernel.cpp {@code _compute_indices_min_size_weights_aa}),
 * the same arithmetic as the CPU reference's {@code PositionEmbeddingResize.axisWeights}; an axis whose size
 * does not change gets identity taps (PyTorch skips it). The {@code vision_position_add} kernel applies them,
 * width pass then height pass.
 */
final class PositionTaps {
    /** Per output index: first input index, tap count, and weights {@code maxTaps} apart. */
    record Axis(int[] first, int[] count, float[] weights, int maxTaps) {}

    private PositionTaps() {}

    static Axis axis(int in, int out) {
        if (in == out) {
            int[] first = new int[out], count = new int[out];
            float[] weights = new float[out];
            for (int i = 0; i < out; i++) {
                first[i] = i;
                count[i] = 1;
                weights[i] = 1f;
            }
            return new Axis(first, count, weights, 1);
        }
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
        return new Axis(first, count, weights, maxTaps);
    }

    /** PyTorch {@code HelperInterpLinear::aa_filter}. */
    private static float triangle(float x) {
        x = Math.abs(x);
        return x < 1.0f ? (float) (1.0 - x) : 0f;
    }
}
