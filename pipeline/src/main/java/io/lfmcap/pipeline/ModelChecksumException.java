package io.lfmcap.pipeline;

/**
 * A model copy whose SHA-256 is not the one the driver computed (or the user gave). It fails the task,
 * which Spark retries; it names the model, where the copy is and both digests.
 */
public class ModelChecksumException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public ModelChecksumException(String message) {
        super(message);
    }
}
