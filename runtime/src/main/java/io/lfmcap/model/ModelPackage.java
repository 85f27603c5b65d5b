package io.lfmcap.model;

/**
 * Everything a runtime needs to caption with one model, whatever file it came from (a Hugging Face
 * checkpoint folder or an exported {@code .pte}): architecture, processor settings, tokenizer, chat
 * template and weights. Closing it closes the weights.
 */
public interface ModelPackage extends AutoCloseable {
    ModelConfig config();

    ProcessorConfig processor();

    /** The {@code tokenizer.json} bytes (Hugging Face tokenizers format). */
    byte[] tokenizerJson();

    /** The chat template text (Jinja) as shipped, or null when absent; for display and export only. */
    String chatTemplate();

    WeightStore weights();

    /** Short human name, e.g. the folder or file name. */
    String name();

    /** SHA-256 hex identifying the model content (file checksum for a .pte, weights digest for a folder). */
    String sha256();

    @Override
    void close();
}
