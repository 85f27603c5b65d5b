package io.lfmcap.model.tiny;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ProcessorConfig;
import io.lfmcap.text.TinyTokenizer;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A tiny LFM2-VL checkpoint the project makes itself: the real architecture (SigLIP2 NaFlex tower,
 * pixel-unshuffle projector, hybrid conv/attention LFM2 decoder) at toy width, with deterministic
 * random weights, so every code path runs in milliseconds without downloading a model.
 *
 * <p>Shape: text hidden 64, 4 layers (conv, attention, conv, attention), 4 heads over 2 KV heads of
 * dim 16, FFN {@code intermediate_size} 180 that the LFM2 width rule turns into 128 (int(2*180/3) =
 * 120, rounded up to a multiple of 32), vocab = the tiny tokenizer's; vision hidden 32, 2 layers,
 * 2 heads, MLP 64, patch 16, a 16x16 learned position grid (so NaFlex resizing is exercised);
 * projector hidden 48, downsample 2. Processor: the class defaults (64..256 image tokens, splitting
 * into 512 tiles, thumbnail on).
 *
 * <p>{@link Variant#LFM2_VL} writes the v1 forms (config with {@code block_ff_dim} and
 * {@code full_attn_idxs}, projector LayerNorm on, two processor files);
 * {@link Variant#LFM2_5_VL} the transformers 5 forms (config with {@code layer_types} and
 * {@code rope_parameters}, no projector LayerNorm, nested processor config).
 */
public final class TinyCheckpoint {
    /** Which generation of config and processor files to imitate. */
    public enum Variant {
        LFM2_VL,
        LFM2_5_VL;

        /** "v1" or "v2.5" (also accepted: the enum names, case-insensitive). */
        public static Variant parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "v1", "lfm2_vl", "lfm2-vl" -> LFM2_VL;
                case "v2.5", "v2_5", "lfm2_5_vl", "lfm2.5-vl" -> LFM2_5_VL;
                default -> throw new IllegalArgumentException("unknown variant '" + s + "': use v1 or v2.5");
            };
        }
    }

    public static final int TEXT_HIDDEN = 64;
    public static final int TEXT_LAYERS = 4;
    public static final int TEXT_HEADS = 4;
    public static final int TEXT_KV_HEADS = 2;
    /** Raw {@code intermediate_size}; the effective FFN width is {@link #FFN_DIM}. */
    public static final int INTERMEDIATE_SIZE = 180;
    public static final int FFN_MULTIPLE_OF = 32;
    public static final int FFN_DIM = 128;
    public static final int VISION_HIDDEN = 32;
    public static final int VISION_LAYERS = 2;
    public static final int VISION_HEADS = 2;
    public static final int VISION_INTERMEDIATE = 64;
    public static final int PROJECTOR_HIDDEN = 48;
    public static final long DEFAULT_SEED = 42;

    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyCheckpoint() {}

    /** Writes the checkpoint folder {@code dir} (created if needed, files replaced). */
    public static void write(Path dir, Variant variant, long seed) {
        CheckpointFolder folder = new CheckpointFolder(dir);
        ModelConfig cfg = folder.writeConfigAndWeights(configJson(variant), seed);
        if (variant == Variant.LFM2_VL) folder.writeTwoFileProcessorConfig(ProcessorConfig.defaults());
        else folder.writeNestedProcessorConfig(ProcessorConfig.defaults());
        folder.writeTextFiles(cfg);
    }

    /** The tiny model's architecture (what {@link #configJson} parses to). */
    public static ModelConfig config(Variant variant) {
        return ModelConfig.fromJson(configJson(variant));
    }

    /** The tiny model's config.json text in the variant's form. */
    public static String configJson(Variant variant) {
        boolean v1 = variant == Variant.LFM2_VL;
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("Lfm2VlForConditionalGeneration");
        root.put("model_type", v1 ? "lfm2-vl" : "lfm2_vl");
        root.put("downsample_factor", 2);
        root.put(v1 ? "image_token_index" : "image_token_id", 396);
        root.put("projector_bias", true);
        root.put("projector_hidden_act", "gelu");
        root.put("projector_hidden_size", PROJECTOR_HIDDEN);
        if (!v1) root.put("projector_use_layernorm", false); // v1 configs omit it: default true
        root.put("vision_feature_layer", -1);

        ObjectNode text = root.putObject("text_config");
        text.put("model_type", "lfm2");
        text.put("hidden_size", TEXT_HIDDEN);
        text.put("num_hidden_layers", TEXT_LAYERS);
        text.put("num_attention_heads", TEXT_HEADS);
        text.put("num_key_value_heads", TEXT_KV_HEADS);
        text.put(v1 ? "block_ff_dim" : "intermediate_size", INTERMEDIATE_SIZE);
        text.put("block_auto_adjust_ff_dim", true);
        text.put("block_ffn_dim_multiplier", 1.0);
        text.put("block_multiple_of", FFN_MULTIPLE_OF);
        if (v1) {
            text.putArray("full_attn_idxs").add(1).add(3);
            text.put("rope_theta", 1_000_000.0);
        } else {
            ArrayNode types = text.putArray("layer_types");
            for (int i = 0; i < TEXT_LAYERS; i++) types.add(i % 2 == 1 ? "full_attention" : "conv");
            ObjectNode rope = text.putObject("rope_parameters");
            rope.put("rope_theta", 1_000_000.0);
            rope.put("rope_type", "default");
            text.put("tie_embedding", true);
        }
        text.put("conv_L_cache", 3);
        text.put("conv_bias", false);
        text.put("norm_eps", 1e-5);
        text.put("vocab_size", TinyTokenizer.VOCAB_SIZE);
        text.put("max_position_embeddings", 128_000);
        text.put("bos_token_id", 1);
        text.put("eos_token_id", 7);
        text.put("pad_token_id", 0);

        ObjectNode vision = root.putObject("vision_config");
        vision.put("model_type", "siglip2_vision_model");
        vision.put("hidden_size", VISION_HIDDEN);
        vision.put("intermediate_size", VISION_INTERMEDIATE);
        vision.put("num_attention_heads", VISION_HEADS);
        vision.put("num_hidden_layers", VISION_LAYERS);
        vision.put("num_patches", 256);
        vision.put("patch_size", 16);
        vision.put("num_channels", 3);
        vision.put("layer_norm_eps", 1e-6);
        vision.put("hidden_act", "gelu_pytorch_tanh");
        vision.put("vision_use_head", false);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize the tiny config", e);
        }
    }

    /** {@code TinyCheckpoint <dir> [v1|v2.5] [seed]}: writes a tiny checkpoint folder (default v2.5, seed 42). */
    public static void main(String[] args) {
        if (args.length < 1 || args.length > 3) {
            System.err.println("usage: TinyCheckpoint <dir> [v1|v2.5] [seed]");
            System.exit(2);
        }
        Variant variant = args.length > 1 ? Variant.parse(args[1]) : Variant.LFM2_5_VL;
        long seed = args.length > 2 ? Long.parseLong(args[2]) : DEFAULT_SEED;
        Path dir = Path.of(args[0]);
        write(dir, variant, seed);
        System.out.println("wrote tiny " + variant + " checkpoint (seed " + seed + ") to " + dir.toAbsolutePath());
    }
}
