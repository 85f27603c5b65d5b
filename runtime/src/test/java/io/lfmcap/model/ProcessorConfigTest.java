package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcessorConfigTest {
    @Test
    void noFilesGiveClassDefaults() {
        ProcessorConfig p = ProcessorConfig.fromJson(null, null);
        ProcessorConfig d = ProcessorConfig.defaults();
        assertTrue(p.doImageSplitting());
        assertEquals(2, p.minTiles());
        assertEquals(10, p.maxTiles());
        assertEquals(512, p.tileSize());
        assertEquals(2.0, p.maxPixelsTolerance());
        assertTrue(p.useThumbnail());
        assertEquals(64, p.minImageTokens());
        assertEquals(256, p.maxImageTokens());
        assertEquals(16, p.encoderPatchSize());
        assertEquals(2, p.downsampleFactor());
        assertTrue(p.useImageSpecialTokens());
        assertEquals(2, p.resample());
        assertEquals(d.rescaleFactor(), p.rescaleFactor());
        assertArrayEquals(new double[] {0.5, 0.5, 0.5}, p.imageMean());
        assertArrayEquals(new double[] {0.5, 0.5, 0.5}, p.imageStd());
        assertEquals(1024, p.maxNumPatches());
    }

    @Test
    void v1FilesAreMerged() {
        ProcessorConfig p = ProcessorConfig.fromJson(
                TestResources.text("lfm2-vl-450m.processor_config.json"),
                TestResources.text("lfm2-vl-450m.preprocessor_config.json"));
        assertFalse(p.useThumbnail(), "tiling fields come from processor_config.json");
        assertEquals(0.00392156862745098, p.rescaleFactor(), "normalization comes from preprocessor_config.json");
        assertEquals(2, p.resample());
        assertEquals(10, p.maxTiles());
    }

    @Test
    void nestedImageProcessorWinsOverTopLevelWhichWinsOverPreprocessor() {
        String processor = "{\"max_tiles\": 8, \"min_image_tokens\": 48,"
                + " \"image_processor\": {\"min_image_tokens\": 32, \"use_thumbnail\": false}}";
        String preprocessor = "{\"max_tiles\": 6, \"min_image_tokens\": 40, \"tile_size\": 384}";
        ProcessorConfig p = ProcessorConfig.fromJson(processor, preprocessor);
        assertEquals(32, p.minImageTokens());
        assertFalse(p.useThumbnail());
        assertEquals(8, p.maxTiles());
        assertEquals(384, p.tileSize());
    }

    @Test
    void scalarMeanIsRepeatedPerChannel() {
        ProcessorConfig p = ProcessorConfig.fromJson(null, "{\"image_mean\": 0.25, \"image_std\": [0.1, 0.2, 0.3]}");
        assertArrayEquals(new double[] {0.25, 0.25, 0.25}, p.imageMean());
        assertArrayEquals(new double[] {0.1, 0.2, 0.3}, p.imageStd());
    }

    @Test
    void maxNumPatchesCountsTilesOnlyWhenSplitting() {
        ProcessorConfig p = ProcessorConfig.fromJson("{\"do_image_splitting\": false, \"max_image_tokens\": 64}", null);
        assertEquals(256, p.maxNumPatches());
    }

    @Test
    void badValueNamesFileAndField() {
        ModelFileException e = assertThrows(ModelFileException.class,
                () -> ProcessorConfig.fromJson("{\"image_processor\": {\"max_tiles\": 0}}", null));
        assertEquals("processor_config.json: image_processor.max_tiles must be a positive integer (found 0)", e.getMessage());
    }

    @Test
    void invalidJsonNamesTheFile() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ProcessorConfig.fromJson(null, "[1, 2"));
        assertTrue(e.getMessage().startsWith("preprocessor_config.json is not valid JSON"), e.getMessage());
    }

    @Test
    void minTilesAboveMaxTilesIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ProcessorConfig.fromJson("{\"min_tiles\": 4, \"max_tiles\": 3}", null));
        assertEquals("processor_config.json: min_tiles (4) must not exceed max_tiles (3)", e.getMessage());
    }

    @Test
    void disabledNormalizationIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ProcessorConfig.fromJson(null, "{\"do_normalize\": false}"));
        assertTrue(e.getMessage().startsWith("preprocessor_config.json: do_normalize false is not supported"), e.getMessage());
    }
}
