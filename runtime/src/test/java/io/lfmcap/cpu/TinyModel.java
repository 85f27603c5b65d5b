package io.lfmcap.cpu;

import io.lfmcap.model.DType;
import io.lfmcap.model.ModelConfig;
import java.util.List;
import java.util.Random;

/**
 * A tiny LFM2-VL for tests: text hidden 64, 4 layers (conv, attention, conv, attention), 4 heads over 2 kv
 * heads, FFN 96, vocab 512; vision hidden 32, 2 layers, 2 heads, MLP 64, 16x16 patches, 256 positions;
 * projector 48. Weights are random with a spread that gives non-flat logits.
 */
final class TinyModel {
    static final String TEXT = "model.language_model.";
    static final String VISION = "model.vision_tower.vision_model.";
    static final String PROJECTOR = "model.multi_modal_projector.";

    private TinyModel() {}

    static ModelConfig config(boolean projectorLayerNorm) {
        var text = new ModelConfig.TextConfig(64, 4, 4, 2, 16, 96, List.of(false, true, false, true), 3, false,
                1e-5, 1_000_000.0, 512, 128_000, 1, 7, 0, true);
        var vision = new ModelConfig.VisionConfig(32, 64, 2, 2, 256, 16, 3, 1e-6, "gelu_pytorch_tanh");
        return new ModelConfig(text, vision, 48, projectorLayerNorm, true, 2, 396, -1);
    }

    /** Random weights for {@code config}; matrices (2-D and up) stored in {@code matrixType}, vectors in f32. */
    static InMemoryWeights weights(ModelConfig config, long seed, DType matrixType) {
        Random rnd = new Random(seed);
        InMemoryWeights w = new InMemoryWeights();
        var t = config.text();
        int h = t.hiddenSize();
        linear(w, rnd, matrixType, TEXT + "embed_tokens.weight", t.vocabSize(), h, 1.0);
        norm(w, rnd, TEXT + "embedding_norm.weight", h);
        for (int i = 0; i < t.numLayers(); i++) {
            String p = TEXT + "layers." + i + ".";
            norm(w, rnd, p + "operator_norm.weight", h);
            norm(w, rnd, p + "ffn_norm.weight", h);
            if (t.isAttention(i)) {
                linear(w, rnd, matrixType, p + "self_attn.q_proj.weight", t.numHeads() * t.headDim(), h, 2.0);
                linear(w, rnd, matrixType, p + "self_attn.k_proj.weight", t.numKvHeads() * t.headDim(), h, 2.0);
                linear(w, rnd, matrixType, p + "self_attn.v_proj.weight", t.numKvHeads() * t.headDim(), h, 1.0);
                linear(w, rnd, matrixType, p + "self_attn.out_proj.weight", h, t.numHeads() * t.headDim(), 1.0);
                norm(w, rnd, p + "self_attn.q_layernorm.weight", t.headDim());
                norm(w, rnd, p + "self_attn.k_layernorm.weight", t.headDim());
            } else {
                linear(w, rnd, matrixType, p + "conv.in_proj.weight", 3 * h, h, 1.5);
                w.put(p + "conv.conv.weight", matrixType, uniform(rnd, h * t.convKernel(), 0.8), h, 1, t.convKernel());
                linear(w, rnd, matrixType, p + "conv.out_proj.weight", h, h, 1.0);
            }
            linear(w, rnd, matrixType, p + "feed_forward.w1.weight", t.ffnDim(), h, 1.5);
            linear(w, rnd, matrixType, p + "feed_forward.w3.weight", t.ffnDim(), h, 1.5);
            linear(w, rnd, matrixType, p + "feed_forward.w2.weight", h, t.ffnDim(), 1.0);
        }
        var v = config.vision();
        int d = v.hiddenSize();
        linear(w, rnd, matrixType, VISION + "embeddings.patch_embedding.weight", d, v.patchDim(), 1.0);
        bias(w, rnd, VISION + "embeddings.patch_embedding.bias", d);
        linear(w, rnd, matrixType, VISION + "embeddings.position_embedding.weight", v.numPatches(), d, 0.5);
        for (int j = 0; j < v.numLayers(); j++) {
            String p = VISION + "encoder.layers." + j + ".";
            norm(w, rnd, p + "layer_norm1.weight", d);
            bias(w, rnd, p + "layer_norm1.bias", d);
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                linear(w, rnd, matrixType, p + "self_attn." + proj + ".weight", d, d, proj.equals("v_proj") || proj.equals("out_proj") ? 1.0 : 2.0);
                bias(w, rnd, p + "self_attn." + proj + ".bias", d);
            }
            norm(w, rnd, p + "layer_norm2.weight", d);
            bias(w, rnd, p + "layer_norm2.bias", d);
            linear(w, rnd, matrixType, p + "mlp.fc1.weight", v.intermediateSize(), d, 1.5);
            bias(w, rnd, p + "mlp.fc1.bias", v.intermediateSize());
            linear(w, rnd, matrixType, p + "mlp.fc2.weight", d, v.intermediateSize(), 1.0);
            bias(w, rnd, p + "mlp.fc2.bias", d);
        }
        norm(w, rnd, VISION + "post_layernorm.weight", d);
        bias(w, rnd, VISION + "post_layernorm.bias", d);
        int in = config.projectorInputSize();
        if (config.projectorUseLayerNorm()) {
            norm(w, rnd, PROJECTOR + "layer_norm.weight", in);
            bias(w, rnd, PROJECTOR + "layer_norm.bias", in);
        }
        linear(w, rnd, matrixType, PROJECTOR + "linear_1.weight", config.projectorHiddenSize(), in, 1.5);
        bias(w, rnd, PROJECTOR + "linear_1.bias", config.projectorHiddenSize());
        linear(w, rnd, matrixType, PROJECTOR + "linear_2.weight", h, config.projectorHiddenSize(), 1.0);
        bias(w, rnd, PROJECTOR + "linear_2.bias", h);
        return w;
    }

    /** Uniform weights with standard deviation {@code gain / sqrt(in)}. */
    private static void linear(InMemoryWeights w, Random rnd, DType type, String name, int out, int in, double gain) {
        w.put(name, type, uniform(rnd, out * in, gain * Math.sqrt(3.0 / in)), out, in);
    }

    private static void norm(InMemoryWeights w, Random rnd, String name, int n) {
        float[] v = uniform(rnd, n, 0.2);
        for (int i = 0; i < n; i++) v[i] += 1f;
        w.put(name, DType.F32, v, n);
    }

    private static void bias(InMemoryWeights w, Random rnd, String name, int n) {
        w.put(name, DType.F32, uniform(rnd, n, 0.1), n);
    }

    static float[] uniform(Random rnd, int n, double halfWidth) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rnd.nextDouble() * 2 - 1) * halfWidth);
        return v;
    }
}
