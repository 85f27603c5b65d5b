package io.lfmcap.model;

/**
 * A model file or folder that cannot be used as it is: bad JSON, a missing or out-of-range field, a
 * corrupt safetensors header, missing or mis-shaped weights. The message names the file (and field or
 * tensor) and says what is wrong. It is an {@link IllegalArgumentException} because the input, not the
 * program, is at fault.
 */
public class ModelFileException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ModelFileException(String message) {
        super(message);
    }

    public ModelFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
