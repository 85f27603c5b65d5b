package io.lfmcap.model;

import java.util.Set;

/**
 * Named weights of one model, by their Hugging Face names (e.g.
 * {@code model.language_model.layers.0.conv.in_proj.weight}). Backed by memory-mapped files; closing
 * the store unmaps them, after which its tensors must not be used.
 */
public interface WeightStore extends AutoCloseable {
    Set<String> names();

    /** The tensor, or an {@link IllegalArgumentException} naming the missing tensor and the source. */
    Tensor get(String name);

    default boolean contains(String name) { return names().contains(name); }

    /** Where the weights come from (a path), for messages. */
    String source();

    @Override
    void close();
}
