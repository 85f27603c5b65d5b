package io.lfmcap.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads and writes the Hugging Face {@code config.json} of model_type {@code lfm2_vl}
 * (docs/model-lfm2-vl.md section 1). Reading resolves the aliases of the LFM2-VL (v1, remote-code era)
 * and LFM2.5-VL (transformers 5) forms and fills absent fields with the transformers defaults of
 * {@code Lfm2VlConfig}, {@code Lfm2Config} and {@code Siglip2VisionConfig}.
 */
public final class ModelConfigJson {
    /** Both spellings occur: "lfm2-vl" in v1 remote-code configs, "lfm2_vl" in transformers-native ones. */
    private static final Set<String> MODEL_TYPES = Set.of("lfm2_vl", "lfm2-vl");
    private static final String CONV = "conv";
    private static final String ATTENTION = "full_attention";

    private ModelConfigJson() {}

    /** Parses {@code json}, the text of {@code source} (a file name used in error messages). */
    public static ModelConfig parse(String json, String source) {
        JsonFields root = JsonFields.parse(json, source);
        String modelType = root.string("model_type", null);
        if (modelType == null) throw root.error("model_type", "is missing: expected \"lfm2_vl\" (an LFM2-VL / LFM2.5-VL config.json)");
        if (!MODEL_TYPES.contains(modelType))
            throw root.error("model_type", "is \"" + modelType + "\", expected \"lfm2_vl\": this is not an LFM2-VL / LFM2.5-VL checkpoint");

        // Lfm2VlConfig defaults (transformers 5.x).
        String act = root.string("projector_hidden_act", "gelu");
        if (!act.equals("gelu")) throw root.error("projector_hidden_act", "is \"" + act + "\"; only \"gelu\" (exact erf) is supported");
        int imageTokenId = root.has("image_token_id") ? root.integer("image_token_id", 396) : root.integer("image_token_index", 396);

        ModelConfig.TextConfig text = parseText(root.object("text_config"), tieWordEmbeddings(root));
        ModelConfig.VisionConfig vision = parseVision(root.object("vision_config"));
        ModelConfig cfg = new ModelConfig(text, vision,
                root.positiveInt("projector_hidden_size", 2560),
                root.bool("projector_use_layernorm", true),
                root.bool("projector_bias", true),
                root.positiveInt("downsample_factor", 2),
                imageTokenId,
                root.integer("vision_feature_layer", -1));
        if (imageTokenId < 0 || imageTokenId >= text.vocabSize())
            throw root.error("image_token_id", "must be a token id below text_config.vocab_size " + text.vocabSize() + " (found " + imageTokenId + ")");
        return cfg;
    }

    /**
     * HF {@code Lfm2VlConfig}: {@code tie_word_embeddings = getattr(text_config, "tie_embedding",
     * tie_word_embeddings)}; LiquidAI configs spell it {@code tie_embedding} in the text config, older
     * ones at the top level. Default true.
     */
    private static boolean tieWordEmbeddings(JsonFields root) {
        JsonFields text = root.object("text_config");
        if (text.has("tie_embedding")) return text.bool("tie_embedding", true);
        if (root.has("tie_embedding")) return root.bool("tie_embedding", true);
        if (root.has("tie_word_embeddings")) return root.bool("tie_word_embeddings", true);
        return text.bool("tie_word_embeddings", true);
    }

    /** HF {@code Lfm2Config} with its defaults (the LFM2-1.2B shape). */
    private static ModelConfig.TextConfig parseText(JsonFields t, boolean tie) {
        int hidden = t.positiveInt("hidden_size", 2560);
        int layers = t.positiveInt("num_hidden_layers", 32);
        int heads = t.positiveInt("num_attention_heads", 32);
        int kvHeads = t.positiveInt("num_key_value_heads", 8);
        if (heads % kvHeads != 0)
            throw t.error("num_key_value_heads", "must divide num_attention_heads " + heads + " (found " + kvHeads + ")");
        // Lfm2Attention: head_dim = getattr(config, "head_dim", hidden_size // num_attention_heads)
        int headDim;
        if (t.has("head_dim")) headDim = t.positiveInt("head_dim", 0);
        else if (hidden % heads != 0) throw t.error("num_attention_heads", "must divide hidden_size " + hidden + " when head_dim is absent (found " + heads + ")");
        else headDim = hidden / heads;

        // Lfm2Config: intermediate_size = kwargs.get("block_ff_dim", intermediate_size)
        int rawFfn = t.has("block_ff_dim") ? t.positiveInt("block_ff_dim", 0) : t.positiveInt("intermediate_size", 12288);
        Double multiplier = t.isExplicitNull("block_ffn_dim_multiplier") ? null : t.positiveNumber("block_ffn_dim_multiplier", 1.0);
        int ffn = effectiveFfnDim(rawFfn, t.bool("block_auto_adjust_ff_dim", true), multiplier, t.positiveInt("block_multiple_of", 256));

        return new ModelConfig.TextConfig(hidden, layers, heads, kvHeads, headDim, ffn,
                attentionLayers(t, layers),
                t.positiveInt("conv_L_cache", 3),
                t.bool("conv_bias", false),
                t.positiveNumber("norm_eps", 1e-5),
                ropeTheta(t),
                t.positiveInt("vocab_size", 65536),
                t.positiveInt("max_position_embeddings", 128_000),
                t.integerOrFirst("bos_token_id", 1),
                t.integerOrFirst("eos_token_id", 2),
                t.integerOrFirst("pad_token_id", 0),
                tie);
    }

    /**
     * HF {@code Lfm2MLP.__init__}: with auto-adjust, F = int(2*I/3); then, only when a multiplier is
     * set, F = int(multiplier*F) rounded up to a multiple of {@code multipleOf}.
     */
    public static int effectiveFfnDim(int intermediateSize, boolean autoAdjust, Double multiplier, int multipleOf) {
        if (!autoAdjust) return intermediateSize;
        int f = (int) (2L * intermediateSize / 3.0);
        if (multiplier != null) {
            f = (int) (multiplier * f);
            f = multipleOf * ((f + multipleOf - 1) / multipleOf);
        }
        return f;
    }

    /** {@code layer_types}, else derived from {@code full_attn_idxs}, else every layer is attention (HF). */
    private static List<Boolean> attentionLayers(JsonFields t, int layers) {
        List<Boolean> out = new ArrayList<>(layers);
        if (t.has("layer_types")) {
            List<String> types = t.stringList("layer_types");
            if (types.size() != layers)
                throw t.error("layer_types", "has " + types.size() + " entries but num_hidden_layers is " + layers);
            for (String type : types) {
                if (!type.equals(CONV) && !type.equals(ATTENTION))
                    throw t.error("layer_types", "entries must be \"conv\" or \"full_attention\" (found \"" + type + "\")");
                out.add(type.equals(ATTENTION));
            }
            return out;
        }
        List<Integer> idxs = t.has("full_attn_idxs") ? t.intList("full_attn_idxs") : null;
        if (idxs != null)
            for (int i : idxs)
                if (i < 0 || i >= layers) throw t.error("full_attn_idxs", "holds layer " + i + ", outside 0.." + (layers - 1));
        for (int i = 0; i < layers; i++) out.add(idxs == null || idxs.contains(i));
        return out;
    }

    /** {@code rope_parameters.rope_theta}, else {@code theta}, else {@code rope_theta}, else 1e6 (HF). */
    private static double ropeTheta(JsonFields t) {
        if (t.has("rope_parameters")) {
            JsonFields rope = t.object("rope_parameters");
            if (!rope.has("rope_theta") && rope.has(ATTENTION)) rope = rope.object(ATTENTION); // per layer type
            String type = rope.string("rope_type", "default");
            if (!type.equals("default"))
                throw rope.error("rope_type", "\"" + type + "\" is not supported (only \"default\" RoPE, no scaling)");
            if (rope.has("rope_theta")) return rope.positiveNumber("rope_theta", 0);
        }
        if (t.has("theta")) return t.positiveNumber("theta", 0);
        return t.positiveNumber("rope_theta", 1_000_000.0);
    }

    /** HF {@code Siglip2VisionConfig} with its defaults (the base-patch16-naflex shape). */
    private static ModelConfig.VisionConfig parseVision(JsonFields v) {
        int hidden = v.positiveInt("hidden_size", 768);
        int heads = v.positiveInt("num_attention_heads", 12);
        if (hidden % heads != 0) throw v.error("num_attention_heads", "must divide hidden_size " + hidden + " (found " + heads + ")");
        int numPatches = v.positiveInt("num_patches", 256);
        int side = (int) Math.round(Math.sqrt(numPatches));
        if (side * side != numPatches) throw v.error("num_patches", "must be a square number, the side of the learned position grid squared (found " + numPatches + ")");
        return new ModelConfig.VisionConfig(hidden,
                v.positiveInt("intermediate_size", 3072),
                heads,
                v.positiveInt("num_hidden_layers", 12),
                numPatches,
                v.positiveInt("patch_size", 16),
                v.positiveInt("num_channels", 3),
                v.positiveNumber("layer_norm_eps", 1e-6),
                v.string("hidden_act", "gelu_pytorch_tanh"));
    }

    /**
     * {@code config.json} text for {@code cfg} in the LFM2.5-VL (transformers 5) form. The FFN width is
     * written as the effective one with {@code block_auto_adjust_ff_dim: false}, so {@link #parse} of
     * the result gives back an equal config.
     */
    public static String write(ModelConfig cfg) {
        ModelConfig.TextConfig t = cfg.text();
        ModelConfig.VisionConfig v = cfg.vision();
        ObjectNode root = JsonFields.MAPPER.createObjectNode();
        root.putArray("architectures").add("Lfm2VlForConditionalGeneration");
        root.put("model_type", "lfm2_vl");
        root.put("downsample_factor", cfg.downsampleFactor());
        root.put("image_token_id", cfg.imageTokenId());
        root.put("projector_bias", cfg.projectorBias());
        root.put("projector_hidden_act", "gelu");
        root.put("projector_hidden_size", cfg.projectorHiddenSize());
        root.put("projector_use_layernorm", cfg.projectorUseLayerNorm());
        root.put("tie_word_embeddings", t.tieWordEmbeddings());
        root.put("vision_feature_layer", cfg.visionFeatureLayer());

        ObjectNode text = root.putObject("text_config");
        text.put("model_type", "lfm2");
        text.put("hidden_size", t.hiddenSize());
        text.put("num_hidden_layers", t.numLayers());
        text.put("num_attention_heads", t.numHeads());
        text.put("num_key_value_heads", t.numKvHeads());
        if (t.headDim() * t.numHeads() != t.hiddenSize()) text.put("head_dim", t.headDim());
        text.put("intermediate_size", t.ffnDim());
        text.put("block_auto_adjust_ff_dim", false);
        ArrayNode types = text.putArray("layer_types");
        for (boolean attention : t.attentionLayers()) types.add(attention ? ATTENTION : CONV);
        text.put("conv_L_cache", t.convKernel());
        text.put("conv_bias", t.convBias());
        text.put("norm_eps", t.normEps());
        ObjectNode rope = text.putObject("rope_parameters");
        rope.put("rope_theta", t.ropeTheta());
        rope.put("rope_type", "default");
        text.put("vocab_size", t.vocabSize());
        text.put("max_position_embeddings", t.maxPositionEmbeddings());
        text.put("bos_token_id", t.bosTokenId());
        text.put("eos_token_id", t.eosTokenId());
        text.put("pad_token_id", t.padTokenId());
        text.put("tie_embedding", t.tieWordEmbeddings());

        ObjectNode vision = root.putObject("vision_config");
        vision.put("model_type", "siglip2_vision_model");
        vision.put("hidden_size", v.hiddenSize());
        vision.put("intermediate_size", v.intermediateSize());
        vision.put("num_attention_heads", v.numHeads());
        vision.put("num_hidden_layers", v.numLayers());
        vision.put("num_patches", v.numPatches());
        vision.put("patch_size", v.patchSize());
        vision.put("num_channels", v.numChannels());
        vision.put("layer_norm_eps", v.layerNormEps());
        vision.put("hidden_act", v.hiddenAct());
        vision.put("vision_use_head", false);
        return pretty(root);
    }

    static String pretty(ObjectNode node) {
        try {
            return JsonFields.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
    }
}
