package io.lfmcap.model.tiny;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.CheckpointWeights;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ProcessorConfig;
import io.lfmcap.text.TinyTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the files of a synthetic Hugging Face checkpoint folder around random weights: config,
 * processor config (in the v1 two-file form or the transformers 5 nested form), generation config,
 * chat template, and the tiny tokenizer ({@link TinyTokenizer}, whose ids all lie below any LFM2
 * vocabulary size).
 */
final class CheckpointFolder {
    /** The LFM2-VL chat template (docs/model-lfm2-vl.md section 4), verbatim from the v1 checkpoints. */
    static final String CHAT_TEMPLATE = "{{bos_token}}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
            + "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for content in message['content'] %}"
            + "{% if content['type'] == 'image' %}{{ '<image>' }}{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
            + "{% endfor %}{% endif %}{{'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    CheckpointFolder(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    /** config.json verbatim, then random weights for the config it parses to. */
    ModelConfig writeConfigAndWeights(String configJson, long seed) {
        Path configFile = dir.resolve(CheckpointPackage.CONFIG);
        ModelConfig cfg = ModelConfig.fromJson(configJson, configFile.toString());
        if (cfg.text().vocabSize() < TinyTokenizer.VOCAB_SIZE)
            throw new IllegalArgumentException("vocab_size " + cfg.text().vocabSize() + " is below the tiny tokenizer's " + TinyTokenizer.VOCAB_SIZE);
        writeText(CheckpointPackage.CONFIG, configJson);
        RandomWeights.write(dir.resolve(CheckpointWeights.SINGLE_FILE), cfg, seed);
        return cfg;
    }

    /** Tokenizer, tokenizer_config.json, chat template and generation config. */
    void writeTextFiles(ModelConfig cfg) {
        writeBytes(CheckpointPackage.TOKENIZER, TinyTokenizer.tokenizerJson(cfg.text().vocabSize()));
        ObjectNode tokenizerConfig = JSON.createObjectNode();
        tokenizerConfig.put("tokenizer_class", "PreTrainedTokenizerFast");
        tokenizerConfig.put("bos_token", "<|startoftext|>");
        tokenizerConfig.put("eos_token", "<|im_end|>");
        tokenizerConfig.put("pad_token", "<|pad|>");
        writeJson("tokenizer_config.json", tokenizerConfig);
        writeText(CheckpointPackage.CHAT_TEMPLATE, CHAT_TEMPLATE);
        // LFM2 generation_config.json: bos, eos, pad and nothing else -> greedy, stop at <|im_end|>.
        ObjectNode generation = JSON.createObjectNode();
        generation.put("bos_token_id", cfg.text().bosTokenId());
        generation.put("eos_token_id", cfg.text().eosTokenId());
        generation.put("pad_token_id", cfg.text().padTokenId());
        writeJson("generation_config.json", generation);
    }

    /** transformers 5 form: one processor_config.json with a nested "image_processor". */
    void writeNestedProcessorConfig(ProcessorConfig p) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode image = root.putObject("image_processor");
        image.put("image_processor_type", "Lfm2VlImageProcessor");
        putTiling(image, p);
        putNormalization(image, p);
        root.put("processor_class", "Lfm2VlProcessor");
        root.put("use_image_special_tokens", p.useImageSpecialTokens());
        writeJson(CheckpointPackage.PROCESSOR_CONFIG, root);
    }

    /**
     * v1 (remote-code era) form: tiling settings in processor_config.json, normalization in a Siglip2
     * style preprocessor_config.json.
     */
    void writeTwoFileProcessorConfig(ProcessorConfig p) {
        ObjectNode processor = JSON.createObjectNode();
        processor.put("processor_class", "Lfm2VlProcessor");
        putTiling(processor, p);
        processor.put("use_image_special_tokens", p.useImageSpecialTokens());
        writeJson(CheckpointPackage.PROCESSOR_CONFIG, processor);

        ObjectNode preprocessor = JSON.createObjectNode();
        preprocessor.put("image_processor_type", "Siglip2ImageProcessor");
        preprocessor.put("processor_class", "Lfm2VlProcessor");
        preprocessor.put("patch_size", p.encoderPatchSize());
        preprocessor.put("max_num_patches", p.maxNumPatches());
        putNormalization(preprocessor, p);
        writeJson(CheckpointPackage.PREPROCESSOR_CONFIG, preprocessor);
    }

    private static void putTiling(ObjectNode n, ProcessorConfig p) {
        n.put("do_image_splitting", p.doImageSplitting());
        n.put("downsample_factor", p.downsampleFactor());
        n.put("encoder_patch_size", p.encoderPatchSize());
        n.put("max_image_tokens", p.maxImageTokens());
        n.put("min_image_tokens", p.minImageTokens());
        n.put("max_num_patches", p.maxNumPatches());
        n.put("max_pixels_tolerance", p.maxPixelsTolerance());
        n.put("max_tiles", p.maxTiles());
        n.put("min_tiles", p.minTiles());
        n.put("tile_size", p.tileSize());
        n.put("use_thumbnail", p.useThumbnail());
    }

    private static void putNormalization(ObjectNode n, ProcessorConfig p) {
        n.put("do_rescale", true);
        n.put("rescale_factor", p.rescaleFactor());
        n.put("do_normalize", true);
        ArrayNode mean = n.putArray("image_mean");
        for (double v : p.imageMean()) mean.add(v);
        ArrayNode std = n.putArray("image_std");
        for (double v : p.imageStd()) std.add(v);
        n.put("resample", p.resample());
    }

    private void writeJson(String name, ObjectNode node) {
        try {
            writeText(name, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + name, e);
        }
    }

    private void writeText(String name, String text) {
        writeBytes(name, text.getBytes(StandardCharsets.UTF_8));
    }

    private void writeBytes(String name, byte[] bytes) {
        try {
            Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
