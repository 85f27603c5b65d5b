package io.lfmcap.cpu;

import io.lfmcap.model.ModelConfig;

/**
 * HF {@code Lfm2VlMultiModalProjector} (docs/model-lfm2-vl.md section 3), per view:
 * <pre>
 *   u = pixel_unshuffle(features [gridH, gridW, D], f)     [(gridH/f) * (gridW/f), D f^2], (dy, dx) order
 *   u = layer_norm(u)  (eps 1e-5, only when projector_use_layernorm)
 *   out = linear_2(gelu_erf(linear_1(u)))                 [tokens, text hidden]
 * </pre>
 */
final class Projector {
    private static final String PREFIX = "model.multi_modal_projector.";
    private static final float LAYER_NORM_EPS = 1e-5f;

    private final Parallel parallel;
    private final int factor;
    private final int visionDim;
    private final float[] normWeight;
    private final float[] normBias;
    private final PackedMatrix linear1;
    private final float[] bias1;
    private final PackedMatrix linear2;
    private final float[] bias2;

    Projector(ModelConfig config, WeightLoader w, Parallel parallel) {
        this.parallel = parallel;
        this.factor = config.downsampleFactor();
        this.visionDim = config.vision().hiddenSize();
        int in = config.projectorInputSize();
        int hidden = config.projectorHiddenSize();
        int out = config.text().hiddenSize();
        boolean ln = config.projectorUseLayerNorm();
        normWeight = w.optionalFloats(ln, PREFIX + "layer_norm.weight", in);
        normBias = w.optionalFloats(ln, PREFIX + "layer_norm.bias", in);
        linear1 = w.matrix(PREFIX + "linear_1.weight", hidden, in);
        bias1 = w.optionalFloats(config.projectorBias(), PREFIX + "linear_1.bias", hidden);
        linear2 = w.matrix(PREFIX + "linear_2.weight", out, hidden);
        bias2 = w.optionalFloats(config.projectorBias(), PREFIX + "linear_2.bias", out);
    }

    int factor() { return factor; }

    /** Image-token embeddings of one view: {@code [(gridH/f) * (gridW/f), text hidden]}. */
    float[] forward(float[] features, int gridH, int gridW) {
        float[] u = pixelUnshuffle(features, gridH, gridW, visionDim, factor);
        int tokens = (gridH / factor) * (gridW / factor);
        if (normWeight != null) Norms.layerNorm(u, tokens, linear1.cols, normWeight, normBias, LAYER_NORM_EPS, u);
        float[] hidden = new float[tokens * linear1.rows];
        MatMul.multiply(parallel, u, tokens, linear1, bias1, hidden, false);
        int width = linear1.rows;
        parallel.forRange(tokens, 4, (from, to) -> Activations.geluErf(hidden, from * width, (to - from) * width));
        float[] out = new float[tokens * linear2.rows];
        MatMul.multiply(parallel, hidden, tokens, linear2, bias2, out, false);
        return out;
    }

    /**
     * HF {@code Lfm2VlMultiModalProjector.pixel_unshuffle}: token (r, c) is the concatenation of
     * {@code F[f r + dy][f c + dx]} for dy, then dx, in {@code 0..f-1} (dy-major).
     */
    static float[] pixelUnshuffle(float[] features, int gridH, int gridW, int dim, int factor) {
        if (gridH % factor != 0 || gridW % factor != 0)
            throw new IllegalArgumentException("patch grid " + gridH + "x" + gridW + " is not divisible by the downsample factor " + factor);
        int outH = gridH / factor;
        int outW = gridW / factor;
        int width = dim * factor * factor;
        float[] out = new float[outH * outW * width];
        for (int r = 0; r < outH; r++)
            for (int c = 0; c < outW; c++)
                for (int dy = 0; dy < factor; dy++)
                    for (int dx = 0; dx < factor; dx++) {
                        int src = ((factor * r + dy) * gridW + factor * c + dx) * dim;
                        int dst = (r * outW + c) * width + (dy * factor + dx) * dim;
                        System.arraycopy(features, src, out, dst, dim);
                    }
        return out;
    }
}
