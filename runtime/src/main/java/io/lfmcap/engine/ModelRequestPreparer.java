package io.lfmcap.engine;

import io.lfmcap.image.ImageDecoder;
import io.lfmcap.image.ImageProcessor;
import io.lfmcap.image.ProcessedImage;
import io.lfmcap.image.RgbImage;
import io.lfmcap.text.CaptionPrompt;
import io.lfmcap.text.PromptTokens;

/**
 * What transformers' {@code Lfm2VlProcessor} does for one captioning request: decode the image, resize,
 * tile and patchify it ({@link ImageProcessor}), render the chat prompt and expand its image
 * placeholders ({@link CaptionPrompt}). Thread-safe; runs on the engine's preprocessing threads.
 */
final class ModelRequestPreparer implements RequestPreparer {
    private final ImageDecoder decoder;
    private final ImageProcessor processor;
    private final CaptionPrompt prompt;

    ModelRequestPreparer(ImageDecoder decoder, ImageProcessor processor, CaptionPrompt prompt) {
        this.decoder = decoder;
        this.processor = processor;
        this.prompt = prompt;
    }

    @Override
    public PreparedRequest prepare(CaptionRequest request, long submittedNanos) {
        long start = System.nanoTime();
        RgbImage image = request.image() instanceof ImageInput.Encoded e
                ? decoder.decode(e.bytes(), e.name())
                : ((ImageInput.Decoded) request.image()).image();
        ProcessedImage processed = processor.process(image);
        PromptTokens tokens = prompt.tokenize(request.id(), request.prompt(), processed);
        return new PreparedRequest(request, tokens.ids(), processed.views(), tokens.imageTokenCount(),
                image.width(), image.height(), submittedNanos, System.nanoTime() - start);
    }
}
