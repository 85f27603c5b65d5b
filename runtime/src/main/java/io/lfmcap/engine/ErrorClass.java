package io.lfmcap.engine;

import java.util.Locale;

/** Why a request failed; the {@link #code()} goes into output rows ({@code error_class}). */
public enum ErrorClass {
    /** No bytes at all. */
    EMPTY_INPUT,
    /** Bytes in a format no decoder recognises (text, unknown container). */
    UNSUPPORTED_FORMAT,
    /** A recognised format whose data is broken (truncated JPEG, bad PNG chunk). */
    DECODE_ERROR,
    /** Declared pixel count above the configured limit (decompression bombs) or too big to fit. */
    TOO_LARGE,
    /** The request itself is invalid (prompt too long for the context, bad sampling values). */
    INVALID_REQUEST,
    /** The engine failed while running this request. */
    ENGINE_ERROR,
    /** The engine was closed before the request finished. */
    CANCELLED;

    public String code() { return name().toLowerCase(Locale.ROOT); }
}
