package io.lfmcap.engine;

import java.util.Locale;

/** Why generation stopped. */
public enum FinishReason {
    /** The model produced an end-of-sequence token ({@code <|im_end|>}). */
    STOP,
    /** max new tokens reached. */
    LENGTH;

    public String code() { return name().toLowerCase(Locale.ROOT); }
}
