package io.lfmcap.cpu;

import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.ModelConfig;

/**
 * The SigLIP2 NaFlex vision tower on one view's real patches (docs/model-lfm2-vl.md section 2; padding
 * rows are inert, so only the N real patches run):
 * <pre>
 *   x = patch_embedding(patches) + resize(position_embedding, gridH x gridW)
 *   x = layers(x)                                 (bidirectional attention over the N patches)
 *   return post_layernorm(x)                      [N, D], row-major over the patch grid
 * </pre>
 */
final class VisionEncoder {
    private static final String PREFIX = "model.vision_tower.vision_model.";

    private final ModelConfig.VisionConfig config;
    private final Parallel parallel;
    private final PackedMatrix patchEmbedding;
    private final float[] patchBias;
    private final float[] positionTable;
    private final VisionLayer[] layers;
    private final float[] postNormWeight;
    private final float[] postNormBias;
    private final boolean tanhGelu;
    private final float eps;
    private final float attentionScale;

    VisionEncoder(ModelConfig config, WeightLoader w, Parallel parallel) {
        this.config = config.vision();
        this.parallel = parallel;
        int dim = this.config.hiddenSize();
        this.tanhGelu = Activations.isTanhGelu(this.config.hiddenAct());
        int side = this.config.positionGridSide();
        if (side * side != this.config.numPatches())
            throw new IllegalArgumentException("vision num_patches " + this.config.numPatches() + " is not a square grid");
        patchEmbedding = w.matrix(PREFIX + "embeddings.patch_embedding.weight", dim, this.config.patchDim());
        patchBias = w.floats(PREFIX + "embeddings.patch_embedding.bias", dim);
        positionTable = w.floats(PREFIX + "embeddings.position_embedding.weight", this.config.numPatches(), dim);
        layers = new VisionLayer[config.visionLayersToRun()];
        for (int i = 0; i < layers.length; i++)
            layers[i] = new VisionLayer(w, PREFIX + "encoder.layers." + i + ".", dim, this.config.intermediateSize());
        postNormWeight = w.floats(PREFIX + "post_layernorm.weight", dim);
        postNormBias = w.floats(PREFIX + "post_layernorm.bias", dim);
        eps = (float) this.config.layerNormEps();
        attentionScale = (float) Math.pow(this.config.headDim(), -0.5);
    }

    /** {@code last_hidden_state} rows of the view's real patches: {@code [gridH * gridW, D]}. */
    float[] forward(PatchGrid view) {
        if (view.patchDim() != config.patchDim())
            throw new IllegalArgumentException("patch length " + view.patchDim() + " does not match the vision encoder's "
                    + config.patchDim() + " (" + config.numChannels() + " channels x " + config.patchSize() + "^2)");
        int n = view.numPatches();
        int dim = config.hiddenSize();
        float[] x = new float[n * dim];
        MatMul.multiply(parallel, view.patches(), n, patchEmbedding, patchBias, x, false);
        float[] pos = PositionEmbeddingResize.resize(positionTable, config.positionGridSide(), dim, view.gridH(), view.gridW());
        for (int i = 0; i < x.length; i++) x[i] += pos[i];

        float[] h = new float[n * dim];
        float[] q = new float[n * dim];
        float[] k = new float[n * dim];
        float[] v = new float[n * dim];
        float[] mlp = new float[n * config.intermediateSize()];
        for (VisionLayer layer : layers) {
            Norms.layerNorm(x, n, dim, layer.norm1Weight, layer.norm1Bias, eps, h);
            MatMul.multiply(parallel, h, n, layer.q, layer.qBias, q, false);
            MatMul.multiply(parallel, h, n, layer.k, layer.kBias, k, false);
            MatMul.multiply(parallel, h, n, layer.v, layer.vBias, v, false);
            attention(q, k, v, n, h);
            MatMul.multiply(parallel, h, n, layer.out, layer.outBias, x, true);

            Norms.layerNorm(x, n, dim, layer.norm2Weight, layer.norm2Bias, eps, h);
            MatMul.multiply(parallel, h, n, layer.fc1, layer.fc1Bias, mlp, false);
            if (tanhGelu) {
                parallel.forRange(n, 16, (from, to) -> Activations.geluTanh(mlp, from * config.intermediateSize(), (to - from) * config.intermediateSize()));
            } else {
                parallel.forRange(n, 16, (from, to) -> Activations.geluErf(mlp, from * config.intermediateSize(), (to - from) * config.intermediateSize()));
            }
            MatMul.multiply(parallel, mlp, n, layer.fc2, layer.fc2Bias, x, true);
        }
        Norms.layerNorm(x, n, dim, postNormWeight, postNormBias, eps, x);
        return x;
    }

    /** Multi-head attention over all n patches (HF {@code Siglip2Attention}, eager); heads run in parallel. */
    private void attention(float[] q, float[] k, float[] v, int n, float[] out) {
        int dim = config.hiddenSize();
        int headDim = config.headDim();
        int paddedHeadDim = PackedMatrix.panels(headDim) * PackedMatrix.PANEL;
        parallel.forRange(config.numHeads(), (from, to) -> {
            float[] values = new float[n * paddedHeadDim];
            for (int head = from; head < to; head++) {
                PackedMatrix keys = PackedMatrix.packRows(k, head * headDim, dim, n, headDim);
                for (int t = 0; t < n; t++) System.arraycopy(v, t * dim + head * headDim, values, t * paddedHeadDim, headDim);
                PackedMatrix valueMatrix = PackedMatrix.view(values, 0, PackedMatrix.PANEL, paddedHeadDim, headDim, n);
                DotProductAttention.head(q, head * headDim, dim, n, keys, valueMatrix, n, DotProductAttention.NOT_CAUSAL,
                        attentionScale, out, head * headDim, dim);
            }
        });
    }
}
