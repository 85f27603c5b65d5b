package io.lfmcap.cpu;

import java.util.List;

/**
 * HF {@code Lfm2Attention} (docs/model-lfm2-vl.md section 5), grouped-query, no biases:
 * <pre>
 *   q, k, v = q_proj(x), k_proj(x), v_proj(x)           per head of headDim values
 *   q, k = q_layernorm(q), k_layernorm(k)               RMSNorm per head, before RoPE
 *   q, k = rope(q, pos), rope(k, pos)
 *   cache.append(k, v);  o_h = softmax(q_h K^T / sqrt(d) + causal) V   (kv head = h / (heads / kvHeads))
 *   out = out_proj(concat_h o_h)                         added onto the residual stream
 * </pre>
 */
final class AttentionLayer {
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float eps;
    private final float scale;
    private final PackedMatrix q;
    private final PackedMatrix k;
    private final PackedMatrix v;
    private final PackedMatrix out;
    private final float[] qNorm;
    private final float[] kNorm;

    AttentionLayer(WeightLoader w, String prefix, int hidden, int heads, int kvHeads, int headDim, float eps) {
        if (heads % kvHeads != 0)
            throw new IllegalArgumentException("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.eps = eps;
        this.scale = (float) Math.pow(headDim, -0.5);
        q = w.matrix(prefix + "q_proj.weight", heads * headDim, hidden);
        k = w.matrix(prefix + "k_proj.weight", kvHeads * headDim, hidden);
        v = w.matrix(prefix + "v_proj.weight", kvHeads * headDim, hidden);
        out = w.matrix(prefix + "out_proj.weight", hidden, heads * headDim);
        qNorm = w.floats(prefix + "q_layernorm.weight", headDim);
        kNorm = w.floats(prefix + "k_layernorm.weight", headDim);
    }

    /**
     * @param normed   operator_norm output {@code [rows, H]}
     * @param x        residual stream {@code [rows, H]}, updated in place
     * @param cos      RoPE cos per row, {@code [rows, headDim/2]} (sin likewise)
     * @param qs       scratch {@code [rows, heads * headDim]}; ks, vs {@code [rows, kvHeads * headDim]}
     * @param os       scratch {@code [rows, heads * headDim]}, the attention output before out_proj
     */
    void forward(Parallel parallel, Rope rope, int layer, List<Segment> segments, int rows, float[] normed, float[] x,
                 float[] cos, float[] sin, float[] qs, float[] ks, float[] vs, float[] os) {
        int qWidth = heads * headDim;
        int kvWidth = kvHeads * headDim;
        int half = headDim / 2;
        MatMul.multiply(parallel, normed, rows, q, null, qs, false);
        MatMul.multiply(parallel, normed, rows, k, null, ks, false);
        MatMul.multiply(parallel, normed, rows, v, null, vs, false);
        Norms.rmsNorm(qs, 0, headDim, rows * heads, headDim, qNorm, eps, qs);
        Norms.rmsNorm(ks, 0, headDim, rows * kvHeads, headDim, kNorm, eps, ks);
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) rope.apply(qs, r * qWidth + h * headDim, cos, sin, r * half);
            for (int h = 0; h < kvHeads; h++) rope.apply(ks, r * kvWidth + h * headDim, cos, sin, r * half);
        }
        for (Segment s : segments) {
            KvCache cache = s.sequence().cache(layer);
            int start = s.sequence().position();
            for (int i = 0; i < s.rows(); i++) {
                int r = s.firstRow() + i;
                cache.put(start + i, ks, r * kvWidth, vs, r * kvWidth);
            }
        }
        int group = heads / kvHeads;
        parallel.forRange(segments.size() * heads, (from, to) -> {
            for (int task = from; task < to; task++) {
                Segment s = segments.get(task / heads);
                int h = task % heads;
                KvCache cache = s.sequence().cache(layer);
                int start = s.sequence().position();
                int keyCount = start + s.rows();
                DotProductAttention.head(qs, s.firstRow() * qWidth + h * headDim, qWidth, s.rows(),
                        cache.keys(h / group, keyCount), cache.values(h / group, keyCount), keyCount, start, scale,
                        os, s.firstRow() * qWidth + h * headDim, qWidth);
            }
        });
        MatMul.multiply(parallel, os, rows, out, null, x, true);
    }
}
