package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** Formats written by the JDK's ImageIO writers decode back to the pixels that were written. */
class ImageDecoderFormatsTest {
    private final ImageDecoder decoder = new ImageDecoder();

    @Test
    void pngRgbRoundTrips() throws IOException {
        BufferedImage image = rgbImage(37, 23);
        RgbImage decoded = decoder.decode(encode(image, "png"), "rgb.png");
        assertArrayEquals(expectedRgb(image), decoded.pixels());
    }

    @Test
    void bmpRoundTrips() throws IOException {
        BufferedImage image = rgbImage(31, 17);
        RgbImage decoded = decoder.decode(encode(image, "bmp"), "rgb.bmp");
        assertArrayEquals(expectedRgb(image), decoded.pixels());
    }

    @Test
    void pngAlphaIsDroppedKeepingStoredColors() throws IOException {
        BufferedImage image = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        image.setRGB(0, 0, 0x00FF8040); // fully transparent orange: PIL convert("RGB") keeps the orange
        image.setRGB(1, 0, 0x80102030);
        RgbImage decoded = decoder.decode(encode(image, "png"), "alpha.png");
        assertArrayEquals(new byte[] {(byte) 0xFF, (byte) 0x80, 0x40, 0x10, 0x20, 0x30}, decoded.pixels());
    }

    @Test
    void gifFirstFrameMapsThroughItsPalette() throws IOException {
        byte[] r = {0, (byte) 200, 10}, g = {0, 100, 20}, b = {0, 50, 30};
        BufferedImage image = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 3, r, g, b));
        int[] indices = {0, 1, 2, 2, 1, 0};
        image.getRaster().setPixels(0, 0, 3, 2, indices);
        RgbImage decoded = decoder.decode(encode(image, "gif"), "palette.gif"); // ImageIO writes it interlaced
        assertEquals(3, decoded.width());
        for (int i = 0; i < indices.length; i++) {
            assertEquals(r[indices[i]] & 0xff, decoded.pixels()[i * 3] & 0xff);
            assertEquals(g[indices[i]] & 0xff, decoded.pixels()[i * 3 + 1] & 0xff);
            assertEquals(b[indices[i]] & 0xff, decoded.pixels()[i * 3 + 2] & 0xff);
        }
    }

    @Test
    void grayscalePngIsReplicatedToRgb() throws IOException {
        BufferedImage image = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        image.getRaster().setPixels(0, 0, 2, 1, new int[] {7, 250});
        RgbImage decoded = decoder.decode(encode(image, "png"), "gray.png");
        assertArrayEquals(new byte[] {7, 7, 7, (byte) 250, (byte) 250, (byte) 250}, decoded.pixels());
    }

    @Test
    void concurrentDecodesGiveIdenticalResults() throws Exception {
        List<String> names = List.of("plain.jpg", "cmyk-adobe.jpg", "rgb16.png", "palette.gif", "lossless.webp", "rgb555.bmp");
        List<byte[]> expected = new ArrayList<>();
        for (String n : names) expected.add(Fixtures.decode(n).pixels());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int round = 0; round < 8; round++)
                for (String n : names) results.add(pool.submit(() -> decoder.decode(Fixtures.bytes(n), n).pixels()));
            for (int i = 0; i < results.size(); i++) assertArrayEquals(expected.get(i % names.size()), results.get(i).get());
        } finally {
            pool.shutdownNow();
        }
    }

    private static BufferedImage rgbImage(int w, int h) {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) image.setRGB(x, y, (x * 9) << 16 | (y * 11) << 8 | ((x + y) * 5));
        return image;
    }

    private static byte[] expectedRgb(BufferedImage image) {
        byte[] out = new byte[image.getWidth() * image.getHeight() * 3];
        for (int y = 0, i = 0; y < image.getHeight(); y++)
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                out[i++] = (byte) (rgb >> 16);
                out[i++] = (byte) (rgb >> 8);
                out[i++] = (byte) rgb;
            }
        return out;
    }

    static byte[] encode(BufferedImage image, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(image, format, out)) throw new IOException("no ImageIO writer for " + format);
        return out.toByteArray();
    }
}
