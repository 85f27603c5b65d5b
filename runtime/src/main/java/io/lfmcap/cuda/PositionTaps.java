package io.lfmcap.cuda;

import io.lfmcap.cpu.PositionEmbeddingResize;

/**
 * PyTorch's antialiased bilinear taps along one axis ({@code F.interpolate(mode="bilinear",
 * align_corners=False, antialias=True)}, aten UpSampleKernel.cpp {@code _compute_indices_min_size_weights_aa}),
 * taken from the CPU reference ({@link PositionEmbeddingResize#axisWeights}); an axis whose size does not
 * change gets identity taps (PyTorch skips it). The {@code vision_position_add} kernel applies them,
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
        PositionEmbeddingResize.AxisWeights w = PositionEmbeddingResize.axisWeights(in, out);
        return new Axis(w.first(), w.count(), w.weights(), w.maxTaps());
    }
}
