package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.ProcessorConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageProcessorTest {
    private final ImageProcessor processor = new ImageProcessor(ProcessorConfig.defaults());

    /** docs/model-lfm2-vl.md section 6, worked examples (transformers 5.x defaults). */
    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({
            // width, height, tile cols, tile rows, single/thumbnail width, height, image tokens
            "512, 512, 0, 0, 512, 512, 256",
            "256, 256, 0, 0, 256, 256, 64",
            "100, 100, 0, 0, 256, 256, 64",
            "384, 256, 0, 0, 384, 256, 96",
            "640, 480, 0, 0, 576, 416, 234",
            "512, 1024, 0, 0, 352, 704, 242",
            "720, 720, 0, 0, 512, 512, 256", // 720/32 = 22.5 rounds half-even to 22: not tiled
            "704, 704, 0, 0, 512, 512, 256",
            "1056, 384, 0, 0, 832, 288, 234",
            "2000, 200, 0, 0, 1600, 160, 250",
            "736, 736, 2, 2, 512, 512, 1280",
            "1024, 1024, 2, 2, 512, 512, 1280",
            "1024, 977, 2, 2, 512, 480, 1264",
            "1024, 768, 3, 2, 576, 416, 1770",
            "4000, 3000, 3, 2, 576, 416, 1770",
            "1920, 1080, 4, 2, 672, 384, 2300",
            "1600, 1600, 3, 3, 512, 512, 2560"})
    void layoutMatchesTheWorkedExamples(int w, int h, int cols, int rows, int rw, int rh, int tokens) {
        ImageLayout layout = processor.layout(w, h);
        assertEquals(cols, layout.tileCols());
        assertEquals(rows, layout.tileRows());
        assertEquals(rw + "x" + rh, layout.resizedWidth() + "x" + layout.resizedHeight());
        assertEquals(tokens, layout.numImageTokens(16, 2));
        assertEquals(cols > 0, layout.thumbnail());
    }

    @Test
    void halfEvenRoundingDecidesSmartResizeAndTiling() {
        assertEquals(704, ImageProcessor.roundByFactor(720, 32)); // 22.5 -> 22 (Python round), not 23
        assertEquals(768, ImageProcessor.roundByFactor(752, 32)); // 23.5 -> 24
        assertFalse(processor.isTooLarge(720, 720));
        assertTrue(processor.isTooLarge(736, 736));
    }

    @Test
    void largeImageBecomesRowMajorTilesThenAThumbnail() {
        RgbImage image = Fixtures.pattern(1024, 768);
        ProcessedImage out = processor.process(image);
        assertEquals(7, out.views().size());
        assertEquals(2, out.tileRows());
        assertEquals(3, out.tileCols());
        assertTrue(out.hasThumbnail());
        for (int i = 0; i < 6; i++) assertEquals("32x32", grid(out.views().get(i)));
        assertEquals("26x36", grid(out.views().get(6)));
        assertEquals(1770, out.numImageTokens());
        assertEquals(1024, out.originalWidth());

        // tile (row 1, col 2) is the canvas crop at (1024, 512): its first patch starts at that canvas pixel
        RgbImage canvas = PilResize.resize(image, 1536, 1024);
        float[] tile = out.views().get(5).patches();
        for (int c = 0; c < 3; c++) assertEquals(norm(canvas.get(1024, 512, c)), tile[c]);
        assertEquals(norm(canvas.get(1024 + 5, 512 + 3, 1)), tile[(3 * 16 + 5) * 3 + 1]);
        // the thumbnail is the whole image resized to 576x416
        RgbImage thumb = PilResize.resize(image, 576, 416);
        assertEquals(norm(thumb.get(575, 415, 2)), last(out.views().get(6).patches()));
    }

    @Test
    void smallImageIsOneResizedView() {
        ProcessedImage out = processor.process(Fixtures.pattern(640, 480));
        assertEquals(1, out.views().size());
        assertFalse(out.isTiled());
        assertFalse(out.hasThumbnail());
        assertEquals("26x36", grid(out.views().get(0)));
        assertEquals(234, out.numImageTokens());
    }

    @Test
    void sameSizeViewIsNotResampled() {
        RgbImage image = Fixtures.pattern(512, 512);
        PatchGrid view = processor.process(image).views().get(0);
        assertEquals(norm(image.get(0, 0, 0)), view.patches()[0]);
        assertEquals(norm(image.get(511, 511, 2)), last(view.patches()));
    }

    @Test
    void withoutSplittingALargeImageIsOneSmartResizedView() {
        ProcessedImage out = new ImageProcessor(config(false, true, 64)).process(Fixtures.pattern(1024, 768));
        assertEquals(1, out.views().size());
        assertEquals(0, out.tileRows());
        assertEquals("26x36", grid(out.views().get(0)));
    }

    @Test
    void withoutThumbnailOnlyTilesRemain() {
        ProcessedImage out = new ImageProcessor(config(true, false, 64)).process(Fixtures.pattern(1024, 768));
        assertEquals(6, out.views().size());
        assertFalse(out.hasThumbnail());
        assertEquals(1536, out.numImageTokens());
    }

    @Test
    void minImageTokensComeFromTheConfig() {
        // 100x100 with min_image_tokens 32: beta = sqrt(32768 / 10000), ceil(181.0 / 32) * 32 = 192
        ImageLayout layout = new ImageProcessor(config(true, true, 32)).layout(100, 100);
        assertEquals("192x192", layout.resizedWidth() + "x" + layout.resizedHeight());
        assertEquals(36, layout.numImageTokens(16, 2));
    }

    @Test
    void unsupportedOrInconsistentConfigsAreRejected() {
        ProcessorConfig d = ProcessorConfig.defaults();
        assertThrows(IllegalArgumentException.class, () -> new ImageProcessor(new ProcessorConfig(true, 2, 10, 512, 2.0, true, 64, 256, 16, 2,
                true, 3, d.rescaleFactor(), d.imageMean(), d.imageStd())));
        assertThrows(IllegalArgumentException.class, () -> new ImageProcessor(new ProcessorConfig(true, 5, 4, 512, 2.0, true, 64, 256, 16, 2,
                true, 2, d.rescaleFactor(), d.imageMean(), d.imageStd())));
    }

    private static ProcessorConfig config(boolean split, boolean thumbnail, int minTokens) {
        ProcessorConfig d = ProcessorConfig.defaults();
        return new ProcessorConfig(split, 2, 10, 512, 2.0, thumbnail, minTokens, 256, 16, 2, true, 2,
                d.rescaleFactor(), d.imageMean(), d.imageStd());
    }

    private static float norm(int v) { return (v - 127.5f) / 127.5f; }

    private static float last(float[] a) { return a[a.length - 1]; }

    private static String grid(PatchGrid g) { return g.gridH() + "x" + g.gridW(); }
}
