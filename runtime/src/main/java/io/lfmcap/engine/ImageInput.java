package io.lfmcap.engine;

import io.lfmcap.image.RgbImage;

/** The image of a request: encoded bytes (decoded by the engine's preprocessing) or an already decoded image. */
public sealed interface ImageInput {
    /** A name for messages (a path or an id). */
    String name();

    record Encoded(String name, byte[] bytes) implements ImageInput {}

    record Decoded(String name, RgbImage image) implements ImageInput {}

    static ImageInput of(String name, byte[] bytes) { return new Encoded(name, bytes); }

    static ImageInput of(String name, RgbImage image) { return new Decoded(name, image); }
}
