package io.lfmcap.pte;

/**
 * Keys of the non-weight named data in an exported {@code .pte}. Weights are keyed by their Hugging
 * Face names (e.g. {@code model.language_model.embed_tokens.weight}), which never start with
 * {@code lfmcap/}.
 */
final class NamedDataKeys {
    /** config.json in the canonical form of {@code ModelConfigJson.write} (parses back to the same config). */
    static final String CONFIG = "lfmcap/config.json";
    /** The effective processor settings, see {@link ProcessorJson}. */
    static final String PROCESSOR = ProcessorJson.KEY;
    /** tokenizer.json as published. */
    static final String TOKENIZER = "lfmcap/tokenizer.json";
    /** The chat template (Jinja) as published; absent when the checkpoint has none. */
    static final String CHAT_TEMPLATE = "lfmcap/chat_template.jinja";
    /** Checksums and layout of everything else, see {@link Manifest}; always the last segment. */
    static final String MANIFEST = Manifest.KEY;

    static final String PREFIX = "lfmcap/";

    private NamedDataKeys() {}
}
