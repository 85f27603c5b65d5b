package io.lfmcap.image;

import java.io.IOException;

/** Encoded image data that is broken (truncated, inconsistent); {@link ImageDecoder} reports it as a decode error. */
final class CorruptImageException extends IOException {
    private static final long serialVersionUID = 1L;

    CorruptImageException(String message) { super(message); }
}
