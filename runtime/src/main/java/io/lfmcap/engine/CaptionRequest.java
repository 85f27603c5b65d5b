package io.lfmcap.engine;

import java.util.Objects;

/**
 * One captioning request: an image and an instruction, how to sample and how long to go on.
 *
 * @param suppressEos when true, end-of-sequence tokens are never chosen (benchmarks use it to force
 *                    exactly {@code maxNewTokens})
 */
public record CaptionRequest(String id, ImageInput image, String prompt, SamplingParams sampling,
                             int maxNewTokens, boolean suppressEos) {

    public static final String DEFAULT_PROMPT = "Describe this image.";

    public CaptionRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(sampling, "sampling");
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be >= 1, got " + maxNewTokens);
    }

    public CaptionRequest(String id, ImageInput image, String prompt, SamplingParams sampling, int maxNewTokens) {
        this(id, image, prompt, sampling, maxNewTokens, false);
    }
}
