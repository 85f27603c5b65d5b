package io.lfmcap.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The exact set of weights an LFM2-VL / LFM2.5-VL checkpoint of a given config holds, by Hugging Face
 * name and shape (docs/model-lfm2-vl.md section 7; module layout of transformers'
 * {@code Lfm2VlForConditionalGeneration}: {@code model.language_model} = {@code Lfm2Model},
 * {@code model.vision_tower.vision_model} = {@code Siglip2VisionTransformer} without pooling head,
 * {@code model.multi_modal_projector} = {@code Lfm2VlMultiModalProjector}). Dtype may be F32, F16 or
 * BF16 per tensor.
 *
 * <p>{@code lm_head.weight}: required ([vocab, hidden]) when {@code tie_word_embeddings} is false.
 * When true it is normally absent; a present one of the embedding's shape is tolerated and ignored,
 * because transformers ties the head to {@code embed_tokens} after loading, so the runtime uses
 * {@code embed_tokens} ({@link #LM_HEAD} is then neither missing nor extra).
 *
 * <p>SigLIP2's pooling head ({@code model.vision_tower.vision_model.head.*}): transformers builds it
 * when the vision config's {@code vision_use_head} is true (its default), so folders saved by
 * transformers from a config that leaves the flag out carry it; {@code Lfm2VlModel} only reads
 * {@code last_hidden_state}, so these tensors are tolerated and never used.
 */
public final class WeightSchema {
    public static final String TEXT = "model.language_model.";
    public static final String VISION = "model.vision_tower.vision_model.";
    public static final String PROJECTOR = "model.multi_modal_projector.";
    public static final String LM_HEAD = "lm_head.weight";
    /** The unused SigLIP2 pooling head (see the class comment). */
    public static final String VISION_POOLING_HEAD = VISION + "head.";

    private final Map<String, long[]> expected;
    private final boolean tiedHead;
    private final long[] headShape;

    private WeightSchema(Map<String, long[]> expected, boolean tiedHead, long[] headShape) {
        this.expected = expected;
        this.tiedHead = tiedHead;
        this.headShape = headShape;
    }

    public static WeightSchema of(ModelConfig cfg) {
        Map<String, long[]> m = new LinkedHashMap<>();
        ModelConfig.TextConfig t = cfg.text();
        long h = t.hiddenSize();
        long q = (long) t.numHeads() * t.headDim();
        long kv = (long) t.numKvHeads() * t.headDim();
        long f = t.ffnDim();
        m.put(TEXT + "embed_tokens.weight", shape(t.vocabSize(), h));
        for (int i = 0; i < t.numLayers(); i++) {
            String p = TEXT + "layers." + i + ".";
            m.put(p + "operator_norm.weight", shape(h));
            if (t.isAttention(i)) { // Lfm2Attention: no biases, per-head RMSNorm on q and k
                m.put(p + "self_attn.q_proj.weight", shape(q, h));
                m.put(p + "self_attn.k_proj.weight", shape(kv, h));
                m.put(p + "self_attn.v_proj.weight", shape(kv, h));
                m.put(p + "self_attn.out_proj.weight", shape(h, q));
                m.put(p + "self_attn.q_layernorm.weight", shape(t.headDim()));
                m.put(p + "self_attn.k_layernorm.weight", shape(t.headDim()));
            } else { // Lfm2ShortConv: in_proj, depthwise Conv1d, out_proj, biases iff conv_bias
                m.put(p + "conv.in_proj.weight", shape(3 * h, h));
                if (t.convBias()) m.put(p + "conv.in_proj.bias", shape(3 * h));
                m.put(p + "conv.conv.weight", shape(h, 1, t.convKernel()));
                if (t.convBias()) m.put(p + "conv.conv.bias", shape(h));
                m.put(p + "conv.out_proj.weight", shape(h, h));
                if (t.convBias()) m.put(p + "conv.out_proj.bias", shape(h));
            }
            m.put(p + "ffn_norm.weight", shape(h));
            m.put(p + "feed_forward.w1.weight", shape(f, h));
            m.put(p + "feed_forward.w3.weight", shape(f, h));
            m.put(p + "feed_forward.w2.weight", shape(h, f));
        }
        m.put(TEXT + "embedding_norm.weight", shape(h));

        ModelConfig.VisionConfig v = cfg.vision();
        long d = v.hiddenSize();
        long inter = v.intermediateSize();
        m.put(VISION + "embeddings.patch_embedding.weight", shape(d, v.patchDim()));
        m.put(VISION + "embeddings.patch_embedding.bias", shape(d));
        m.put(VISION + "embeddings.position_embedding.weight", shape(v.numPatches(), d));
        for (int j = 0; j < v.numLayers(); j++) {
            String p = VISION + "encoder.layers." + j + ".";
            layerNorm(m, p + "layer_norm1", d);
            for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) linear(m, p + "self_attn." + proj, d, d, true);
            layerNorm(m, p + "layer_norm2", d);
            linear(m, p + "mlp.fc1", inter, d, true);
            linear(m, p + "mlp.fc2", d, inter, true);
        }
        layerNorm(m, VISION + "post_layernorm", d);

        long in = cfg.projectorInputSize();
        if (cfg.projectorUseLayerNorm()) layerNorm(m, PROJECTOR + "layer_norm", in);
        linear(m, PROJECTOR + "linear_1", cfg.projectorHiddenSize(), in, cfg.projectorBias());
        linear(m, PROJECTOR + "linear_2", h, cfg.projectorHiddenSize(), cfg.projectorBias());

        long[] head = shape(t.vocabSize(), h);
        if (!t.tieWordEmbeddings()) m.put(LM_HEAD, head);
        return new WeightSchema(m, t.tieWordEmbeddings(), head);
    }

    /** Name -> shape of every required tensor, in canonical order (text, vision, projector, head); a copy. */
    public Map<String, long[]> expected() {
        Map<String, long[]> copy = new LinkedHashMap<>();
        expected.forEach((name, shape) -> copy.put(name, shape.clone()));
        return copy;
    }

    /**
     * Checks that {@code store} holds exactly the expected tensors with the expected shapes; otherwise
     * throws one {@link ModelFileException} listing every missing, extra and mis-shaped tensor.
     */
    public void validate(WeightStore store) {
        List<String> problems = new ArrayList<>();
        int matched = 0;
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            if (!store.contains(e.getKey())) {
                problems.add("missing     " + e.getKey() + " (expected " + Tensor.shapeString(e.getValue()) + ")");
                continue;
            }
            matched++;
            long[] found = store.get(e.getKey()).shape();
            if (!Arrays.equals(found, e.getValue()))
                problems.add("wrong shape " + e.getKey() + ": expected " + Tensor.shapeString(e.getValue()) + ", found " + Tensor.shapeString(found));
        }
        for (String name : new TreeSet<>(store.names())) {
            if (expected.containsKey(name) || name.startsWith(VISION_POOLING_HEAD)) continue;
            long[] found = store.get(name).shape();
            if (name.equals(LM_HEAD) && tiedHead) {
                if (!Arrays.equals(found, headShape))
                    problems.add("wrong shape " + name + " (tied to embed_tokens): expected " + Tensor.shapeString(headShape) + ", found " + Tensor.shapeString(found));
                continue;
            }
            problems.add("extra       " + name + " (found " + Tensor.shapeString(found) + ")");
        }
        if (problems.isEmpty()) return;
        StringBuilder msg = new StringBuilder(store.source()).append(": the weights do not match config.json (")
                .append(problems.size()).append(problems.size() == 1 ? " problem" : " problems").append("):");
        for (String p : problems) msg.append("\n  ").append(p);
        if (matched == 0)
            msg.append("\n  (no expected tensor is present: this checkpoint uses other names; expected prefixes ")
                    .append(TEXT).append(", ").append(VISION).append(", ").append(PROJECTOR).append(")");
        throw new ModelFileException(msg.toString());
    }

    private static void linear(Map<String, long[]> m, String prefix, long out, long in, boolean bias) {
        m.put(prefix + ".weight", shape(out, in));
        if (bias) m.put(prefix + ".bias", shape(out));
    }

    private static void layerNorm(Map<String, long[]> m, String prefix, long width) {
        m.put(prefix + ".weight", shape(width));
        m.put(prefix + ".bias", shape(width));
    }

    private static long[] shape(long... dims) { return dims; }
}
