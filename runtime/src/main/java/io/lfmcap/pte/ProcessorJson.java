package io.lfmcap.pte;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.model.ProcessorConfig;
import java.nio.charset.StandardCharsets;

/**
 * The named-data blob {@value #KEY}: the effective image-processor settings (the checkpoint's
 * {@code processor_config.json} and {@code preprocessor_config.json} already merged over the class
 * defaults) under transformers' {@code Lfm2VlImageProcessor} field names, in the flat form of a
 * {@code processor_config.json}. Every field is written, so reading it back gives the same
 * {@link ProcessorConfig} (doubles round-trip exactly through Jackson).
 */
final class ProcessorJson {
    static final String KEY = "lfmcap/processor_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ProcessorJson() {}

    static byte[] write(ProcessorConfig p) {
        ObjectNode o = JSON.createObjectNode();
        o.put("image_processor_type", "Lfm2VlImageProcessorFast");
        o.put("do_image_splitting", p.doImageSplitting());
        o.put("min_tiles", p.minTiles());
        o.put("max_tiles", p.maxTiles());
        o.put("tile_size", p.tileSize());
        o.put("max_pixels_tolerance", p.maxPixelsTolerance());
        o.put("use_thumbnail", p.useThumbnail());
        o.put("min_image_tokens", p.minImageTokens());
        o.put("max_image_tokens", p.maxImageTokens());
        o.put("encoder_patch_size", p.encoderPatchSize());
        o.put("downsample_factor", p.downsampleFactor());
        o.put("use_image_special_tokens", p.useImageSpecialTokens());
        o.put("resample", p.resample());
        o.put("rescale_factor", p.rescaleFactor());
        for (double v : p.imageMean()) o.withArray("image_mean").add(v);
        for (double v : p.imageStd()) o.withArray("image_std").add(v);
        try {
            return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize the processor settings", e);
        }
    }

    /** Reads the blob back with the checkpoint loader's parser, so both paths give the same settings. */
    static ProcessorConfig parse(byte[] json, String source) {
        try {
            return ProcessorConfig.fromJson(new String(json, StandardCharsets.UTF_8), null);
        } catch (IllegalArgumentException e) {
            throw new PteFormatException(source + ": the processor settings (" + KEY + ") are invalid: " + e.getMessage(), e);
        }
    }
}
