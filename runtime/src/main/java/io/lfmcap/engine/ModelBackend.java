package io.lfmcap.engine;

import io.lfmcap.image.PatchGrid;
import java.util.List;

/**
 * The numeric seam between the engine (scheduling, sampling, text) and a device (the fp32 CPU
 * reference, CUDA). One backend holds one model's weights. Calls come from the engine's worker
 * thread(s); a backend need not be thread-safe unless it says so.
 *
 * <p>Shapes are row-major float arrays: embeddings are {@code [tokens, hiddenSize]}, logits are
 * {@code [vocabSize]} for the last position.
 */
public interface ModelBackend extends AutoCloseable {
    /**
     * Vision encoder + projector (docs/model-lfm2-vl.md sections 2-3) for each view, in order;
     * returns the image-token embeddings of all views concatenated: {@code [sum tokens, hiddenSize]}.
     */
    float[] encodeImage(List<PatchGrid> views);

    /** Token embedding rows {@code embed_tokens[ids]}: {@code [ids.length, hiddenSize]}. */
    float[] embedTokens(int[] ids);

    /** A fresh sequence with room for {@code maxTokens} positions (KV and conv caches). */
    SequenceState newSequence(int maxTokens);

    /**
     * Runs {@code length} embeddings through the decoder starting at the sequence's current position,
     * appending to its caches; returns the logits of the last position.
     */
    float[] prefill(SequenceState sequence, float[] embeddings, int length);

    /** One decode step for each sequence with its next token; returns logits per sequence. */
    float[][] decode(List<SequenceState> sequences, int[] tokens);

    int hiddenSize();

    int vocabSize();

    /** Human-readable device, e.g. "cpu (2 threads)". */
    String device();

    @Override
    void close();

    /** Per-sequence decoder state: position and caches. Closing frees them. */
    interface SequenceState extends AutoCloseable {
        /** Tokens already in the caches (the next position). */
        int position();

        int capacity();

        @Override
        void close();
    }
}
