package io.lfmcap.pipeline;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

/** Small images written for tests: smooth colour patterns, and broken files of each kind. */
final class TestImages {
    private TestImages() {}

    /** A {@code width x height} image whose colours depend on {@code seed}, encoded as {@code format} (jpg, png). */
    static byte[] encode(int width, int height, int seed, String format) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int r = (x * 255 / width + seed * 40) & 0xff;
                int g = (y * 255 / height + seed * 90) & 0xff;
                int b = ((x + y) * 4 + seed * 17) & 0xff;
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) throw new IllegalStateException("no ImageIO writer for " + format);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static Path write(Path dir, String name, byte[] bytes) {
        try {
            Files.createDirectories(dir);
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code good} JPEGs img-0.jpg .. img-(n-1).jpg of 64x48. */
    static void good(Path dir, int n) {
        for (int i = 0; i < n; i++) write(dir, "img-" + i + ".jpg", encode(64, 48, i, "jpg"));
    }

    /** The broken inputs: name -> the error class each must give. */
    static void bad(Path dir) {
        byte[] jpeg = encode(64, 48, 7, "jpg");
        write(dir, "truncated.jpg", Arrays.copyOf(jpeg, jpeg.length / 3));
        write(dir, "empty.jpg", new byte[0]);
        write(dir, "not-an-image.jpg", "just some text, not pixels\n".getBytes(StandardCharsets.UTF_8));
        write(dir, "oversized.png", encode(400, 300, 3, "png")); // above the tests' pixel limit
    }

    /** Pixel limit under which oversized.png (120,000 pixels) is too large and the 64x48 images are not. */
    static final long TEST_MAX_PIXELS = 100_000;
}
