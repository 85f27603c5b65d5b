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

    /**
     * The tensor, which must have {@code shape}: what a backend calls for each weight it loads, so a
     * config.json that does not belong to the weights fails naming the tensor and both shapes.
     */
    default Tensor require(String name, long... shape) {
        Tensor t = get(name);
        if (!java.util.Arrays.equals(t.shape(), shape))
            throw new IllegalArgumentException("tensor '" + name + "' in " + source() + " has shape "
                    + Tensor.shapeString(t.shape()) + " but the model config implies " + Tensor.shapeString(shape)
                    + "; check that config.json belongs to these weights");
        return t;
    }

    /** Where the weights come from (a path), for messages. */
    String source();

    @Override
    void close();
}
