package io.lfmcap.model;

/**
 * Image processor settings ({@code processor_config.json} merged with {@code preprocessor_config.json};
 * class defaults of transformers' {@code Lfm2VlImageProcessor} where both are silent). See
 * docs/model-lfm2-vl.md section 1.4.
 */
public record ProcessorConfig(
        boolean doImageSplitting,
        int minTiles,
        int maxTiles,
        int tileSize,
        double maxPixelsTolerance,
        boolean useThumbnail,
        int minImageTokens,
        int maxImageTokens,
        int encoderPatchSize,
        int downsampleFactor,
        boolean useImageSpecialTokens,
        /** PIL resample code: 2 = bilinear (the only one supported) */
        int resample,
        double rescaleFactor,
        double[] imageMean,
        double[] imageStd) {

    /** transformers 5.x class defaults. */
    public static ProcessorConfig defaults() {
        return new ProcessorConfig(true, 2, 10, 512, 2.0, true, 64, 256, 16, 2, true, 2,
                1.0 / 255.0, new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
    }

    /**
     * Settings from a checkpoint's processor files, either of which may be null (absent); the nested
     * {@code image_processor} object of a transformers 5 {@code processor_config.json} is understood.
     * Precedence and defaults: {@link ProcessorConfigJson}. Errors name the file and the field.
     */
    public static ProcessorConfig fromJson(String processorConfigJson, String preprocessorConfigJson) {
        return ProcessorConfigJson.parse(processorConfigJson, preprocessorConfigJson);
    }

    /**
     * Padded patch count of {@code pixel_values}: max(max_image_tokens*f^2, (tile/patch)^2), the tile
     * term only when splitting is on (HF {@code Lfm2VlImageProcessor}: {@code tile_size_patches = ...
     * if do_image_splitting else 0}).
     */
    public int maxNumPatches() {
        int perTile = doImageSplitting ? tileSize / encoderPatchSize : 0;
        return Math.max(maxImageTokens * downsampleFactor * downsampleFactor, perTile * perTile);
    }
}
