package io.lfmcap.cpu;

/**
 * One SigLIP2 encoder layer (HF {@code Siglip2EncoderLayer}, pre-LN):
 * <pre>
 *   x = x + out_proj(MHA(layer_norm1(x)))          q, k, v, out: Linear D -> D with bias; no mask
 *   x = x + fc2(gelu(fc1(layer_norm2(x))))         fc1 D -> I, fc2 I -> D, with bias
 * </pre>
 * Both residual adds are fused into the output projections' stores.
 */
final class VisionLayer {
    final float[] norm1Weight;
    final float[] norm1Bias;
    final PackedMatrix q;
    final float[] qBias;
    final PackedMatrix k;
    final float[] kBias;
    final PackedMatrix v;
    final float[] vBias;
    final PackedMatrix out;
    final float[] outBias;
    final float[] norm2Weight;
    final float[] norm2Bias;
    final PackedMatrix fc1;
    final float[] fc1Bias;
    final PackedMatrix fc2;
    final float[] fc2Bias;

    VisionLayer(WeightLoader w, String prefix, int dim, int intermediate) {
        norm1Weight = w.floats(prefix + "layer_norm1.weight", dim);
        norm1Bias = w.floats(prefix + "layer_norm1.bias", dim);
        q = w.matrix(prefix + "self_attn.q_proj.weight", dim, dim);
        qBias = w.floats(prefix + "self_attn.q_proj.bias", dim);
        k = w.matrix(prefix + "self_attn.k_proj.weight", dim, dim);
        kBias = w.floats(prefix + "self_attn.k_proj.bias", dim);
        v = w.matrix(prefix + "self_attn.v_proj.weight", dim, dim);
        vBias = w.floats(prefix + "self_attn.v_proj.bias", dim);
        out = w.matrix(prefix + "self_attn.out_proj.weight", dim, dim);
        outBias = w.floats(prefix + "self_attn.out_proj.bias", dim);
        norm2Weight = w.floats(prefix + "layer_norm2.weight", dim);
        norm2Bias = w.floats(prefix + "layer_norm2.bias", dim);
        fc1 = w.matrix(prefix + "mlp.fc1.weight", intermediate, dim);
        fc1Bias = w.floats(prefix + "mlp.fc1.bias", intermediate);
        fc2 = w.matrix(prefix + "mlp.fc2.weight", dim, intermediate);
        fc2Bias = w.floats(prefix + "mlp.fc2.bias", dim);
    }
}
