package io.lfmcap.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Test images under src/test/resources/images (see README.md there for how each was made). */
final class Fixtures {
    private Fixtures() {}

    static byte[] bytes(String path) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/images/" + path)) {
            if (in == null) throw new IllegalArgumentException("missing test resource images/" + path);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static RgbImage decode(String path) {
        return new ImageDecoder().decode(bytes(path), path);
    }

    /** An image whose every sample is {@code (x * 7 + y * 13 + c * 101) mod 256}. */
    static RgbImage pattern(int width, int height) {
        byte[] px = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = (byte) (x * 7 + y * 13 + c * 101);
        return new RgbImage(width, height, px);
    }
}
