package io.lfmcap.model.tiny;

import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ModelConfigJson;
import io.lfmcap.model.ProcessorConfig;
import java.nio.file.Path;

/**
 * A complete, loadable checkpoint folder of any LFM2-VL shape with deterministic random BF16 weights:
 * for benchmarks at the real 450M / 1.6B shapes (weights are streamed, never held in memory) and for
 * tests. Holds config.json, model.safetensors, processor_config.json (class defaults, transformers 5
 * form), generation_config.json, chat_template.jinja, tokenizer.json and tokenizer_config.json (the
 * tiny tokenizer, see {@link CheckpointFolder}). Weight spread: {@link RandomWeights}.
 */
public final class RandomCheckpoint {
    private RandomCheckpoint() {}

    /** Writes a folder for {@code cfg}; config.json is {@link ModelConfigJson#write} of it. */
    public static void write(Path dir, ModelConfig cfg, long seed) {
        write(dir, ModelConfigJson.write(cfg), seed);
    }

    /**
     * Writes a folder whose config.json is {@code configJson} verbatim (any form {@link
     * ModelConfig#fromJson} reads, e.g. a variant from bench/variants.json wrapped with
     * {@code "model_type": "lfm2_vl"}).
     */
    public static void write(Path dir, String configJson, long seed) {
        CheckpointFolder folder = new CheckpointFolder(dir);
        ModelConfig cfg = folder.writeConfigAndWeights(configJson, seed);
        folder.writeNestedProcessorConfig(ProcessorConfig.defaults());
        folder.writeTextFiles(cfg);
    }

    /** Writes only the weights of {@code cfg} to the safetensors file {@code file}. */
    public static void writeWeights(Path file, ModelConfig cfg, long seed) {
        RandomWeights.write(file, cfg, seed);
    }
}
