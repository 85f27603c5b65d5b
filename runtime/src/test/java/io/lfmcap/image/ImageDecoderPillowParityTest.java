package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each fixture decodes to exactly what Pillow 9.4 gives for {@code ImageOps.exif_transpose(Image.open(f))
 * .convert("RGB")} (transformers' load_image), stored as pil-decoded/NAME.pil.png.
 */
class ImageDecoderPillowParityTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "plain.jpg", "gray.jpg", "icc-linear.jpg", "cmyk-adobe.jpg", "ycck-adobe.jpg",
            "exif-orientation-2.jpg", "exif-orientation-3.jpg", "exif-orientation-4.jpg", "exif-orientation-5.jpg",
            "exif-orientation-6.jpg", "exif-orientation-7.jpg", "exif-orientation-8.jpg",
            "exif-orientation-6.png", "exif-orientation-8.webp",
            "rgb16.png", "rgba16.png", "gray16.png", "gray16-low.png", "graya16.png", "graya8.png", "palette-trns.png",
            "palette.gif", "gif-offset-transparent.gif", "gif-interlaced-100x3.gif", "rgb555.bmp", "lossless.webp", "lossless-alpha.webp"})
    void decodesBitExactlyAsPillow(String name) {
        RgbImage ours = Fixtures.decode(name);
        RgbImage pillow = Fixtures.decode("pil-decoded/" + name + ".pil.png");
        assertEquals(pillow.width() + "x" + pillow.height(), ours.width() + "x" + ours.height());
        assertArrayEquals(pillow.pixels(), ours.pixels(), name);
    }

    @Test
    void rotatedExifJpegSwapsWidthAndHeight() {
        RgbImage image = Fixtures.decode("exif-orientation-6.jpg"); // stored 48x32, EXIF "rotate 90 CW"
        assertEquals(32, image.width());
        assertEquals(48, image.height());
    }

    @Test
    void gifFrameSmallerThanItsScreenIsPlacedOnTheScreenCanvas() {
        RgbImage image = Fixtures.decode("gif-offset-transparent.gif"); // 48x32 frame at (11, 7) on a 70x50 screen
        assertEquals(70, image.width());
        assertEquals(50, image.height());
    }

    @Test
    void sixteenBitGrayClipsAbove255AsPillow() {
        // gray16-low.png holds x*15 + y*3 (0..642); Pillow's I;16 -> RGB conversion clips, it does not scale
        RgbImage image = Fixtures.decode("gray16-low.png");
        assertEquals(2 * 15 + 1 * 3, image.get(2, 1, 0));
        assertEquals(255, image.get(39, 29, 1));
    }

    @Test
    void lossyWebpIsCloseToLibwebp() {
        // TwelveMonkeys' VP8 decoder is not libwebp: a documented, bounded difference
        RgbImage ours = Fixtures.decode("lossy.webp");
        RgbImage pillow = Fixtures.decode("pil-decoded/lossy.webp.pil.png");
        long sum = 0;
        for (int i = 0; i < ours.pixels().length; i++) sum += Math.abs((ours.pixels()[i] & 0xff) - (pillow.pixels()[i] & 0xff));
        double mean = (double) sum / ours.pixels().length;
        assertTrue(mean < 8.0, "mean absolute difference " + mean);
    }
}
