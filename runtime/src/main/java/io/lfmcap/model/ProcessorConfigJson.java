package io.lfmcap.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * Merges {@code processor_config.json} and {@code preprocessor_config.json} over the class defaults of
 * transformers' {@code Lfm2VlImageProcessor} (docs/model-lfm2-vl.md section 1.4).
 *
 * <p>Precedence, lowest first: class defaults, {@code preprocessor_config.json} (an image-processor
 * dict; in v1 snapshots a plain Siglip2 one without tiling fields), the top level of
 * {@code processor_config.json} (v1 remote-code processors kept their tiling settings there), and its
 * nested {@code image_processor} object (the transformers 5 form, what HF builds the image processor
 * from). Neither file is a superset of the other, so every field is taken from the last layer that
 * sets it.
 */
final class ProcessorConfigJson {
    private ProcessorConfigJson() {}

    static ProcessorConfig parse(String processorConfigJson, String preprocessorConfigJson) {
        List<JsonFields> layers = new ArrayList<>();
        if (preprocessorConfigJson != null) layers.add(JsonFields.parse(preprocessorConfigJson, "preprocessor_config.json"));
        if (processorConfigJson != null) {
            JsonFields processor = JsonFields.parse(processorConfigJson, "processor_config.json");
            layers.add(processor);
            layers.add(processor.object("image_processor"));
        }
        Merged m = new Merged(layers);
        ProcessorConfig d = ProcessorConfig.defaults();

        if (!m.read("do_rescale", (f, k) -> f.bool(k, true)))
            throw m.error("do_rescale", "false is not supported (pixels are always rescaled by rescale_factor)");
        if (!m.read("do_normalize", (f, k) -> f.bool(k, true)))
            throw m.error("do_normalize", "false is not supported (pixels are always normalized by image_mean/image_std)");

        ProcessorConfig cfg = new ProcessorConfig(
                m.read("do_image_splitting", (f, k) -> f.bool(k, d.doImageSplitting())),
                m.read("min_tiles", (f, k) -> f.positiveInt(k, d.minTiles())),
                m.read("max_tiles", (f, k) -> f.positiveInt(k, d.maxTiles())),
                m.read("tile_size", (f, k) -> f.positiveInt(k, d.tileSize())),
                m.read("max_pixels_tolerance", (f, k) -> f.positiveNumber(k, d.maxPixelsTolerance())),
                m.read("use_thumbnail", (f, k) -> f.bool(k, d.useThumbnail())),
                m.read("min_image_tokens", (f, k) -> f.positiveInt(k, d.minImageTokens())),
                m.read("max_image_tokens", (f, k) -> f.positiveInt(k, d.maxImageTokens())),
                m.read("encoder_patch_size", (f, k) -> f.positiveInt(k, d.encoderPatchSize())),
                m.read("downsample_factor", (f, k) -> f.positiveInt(k, d.downsampleFactor())),
                m.read("use_image_special_tokens", (f, k) -> f.bool(k, d.useImageSpecialTokens())),
                m.read("resample", (f, k) -> f.integer(k, d.resample())),
                m.read("rescale_factor", (f, k) -> f.positiveNumber(k, d.rescaleFactor())),
                m.read("image_mean", (f, k) -> f.numbers(k, 3, d.imageMean())),
                m.read("image_std", (f, k) -> f.numbers(k, 3, d.imageStd())));

        // Lfm2VlImageProcessor.preprocess raises on this combination.
        if (cfg.doImageSplitting() && cfg.minTiles() > cfg.maxTiles())
            throw m.error("min_tiles", "(" + cfg.minTiles() + ") must not exceed max_tiles (" + cfg.maxTiles() + ")");
        if (cfg.minImageTokens() > cfg.maxImageTokens())
            throw m.error("min_image_tokens", "(" + cfg.minImageTokens() + ") must not exceed max_image_tokens (" + cfg.maxImageTokens() + ")");
        for (double s : cfg.imageStd())
            if (!(s > 0)) throw m.error("image_std", "values must be positive");
        return cfg;
    }

    /** Field lookup over the layers, the last layer that sets a field winning. */
    private static final class Merged {
        private final List<JsonFields> layers;

        Merged(List<JsonFields> layers) { this.layers = layers; }

        <T> T read(String key, BiFunction<JsonFields, String, T> reader) {
            return reader.apply(owner(key), key);
        }

        ModelFileException error(String key, String message) {
            return owner(key).error(key, message);
        }

        /** The layer that decides {@code key}; with no layer setting it, one that yields the default. */
        private JsonFields owner(String key) {
            for (int i = layers.size() - 1; i >= 0; i--)
                if (layers.get(i).has(key)) return layers.get(i);
            return layers.isEmpty() ? JsonFields.parse("{}", "processor defaults") : layers.get(0);
        }
    }
}
