package io.lfmcap.pte;

import io.lfmcap.model.ModelFileException;

/**
 * A {@code .pte} or {@code .ptd} file that this runtime cannot use: truncated or corrupt, not an
 * ExecuTorch file, made for another backend, or failing its checksums. The message names the file,
 * says what is wrong and, where the user can act, what to do.
 */
public final class PteFormatException extends ModelFileException {
    private static final long serialVersionUID = 1L;

    public PteFormatException(String message) {
        super(message);
    }

    public PteFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
