package io.lfmcap.model;

import java.util.List;

/**
 * The model's architecture, from a Hugging Face {@code config.json} of model_type {@code lfm2_vl}
 * (LFM2-VL and LFM2.5-VL, 450M and 1.6B). Values are the effective ones (aliases resolved, the FFN
 * width rule applied): see docs/model-lfm2-vl.md section 1.
 *
 * @param visionFeatureLayer as in the config; -1 means "all layers" (transformers ignores it)
 */
public record ModelConfig(
        TextConfig text,
        VisionConfig vision,
        int projectorHiddenSize,
        boolean projectorUseLayerNorm,
        boolean projectorBias,
        int downsampleFactor,
        int imageTokenId,
        int visionFeatureLayer) {

    /** LFM2 hybrid decoder (HF {@code Lfm2Config}). */
    public record TextConfig(
            int hiddenSize,
            int numLayers,
            int numHeads,
            int numKvHeads,
            int headDim,
            /** effective FFN width F after {@code block_auto_adjust_ff_dim} */
            int ffnDim,
            /** per layer: true for full_attention, false for conv */
            List<Boolean> attentionLayers,
            /** ShortConv kernel length ({@code conv_L_cache}, 3) */
            int convKernel,
            boolean convBias,
            double normEps,
            double ropeTheta,
            int vocabSize,
            int maxPositionEmbeddings,
            int bosTokenId,
            int eosTokenId,
            int padTokenId,
            boolean tieWordEmbeddings) {

        public boolean isAttention(int layer) { return attentionLayers.get(layer); }
    }

    /** SigLIP2 NaFlex vision tower (HF {@code Siglip2VisionConfig}). */
    public record VisionConfig(
            int hiddenSize,
            int intermediateSize,
            int numHeads,
            int numLayers,
            /** learned position table size (256 = 16x16) */
            int numPatches,
            int patchSize,
            int numChannels,
            double layerNormEps,
            String hiddenAct) {

        public int headDim() { return hiddenSize / numHeads; }

        /** Side of the square learned position grid (16). */
        public int positionGridSide() { return (int) Math.round(Math.sqrt(numPatches)); }

        /** Length of one flattened patch, 3*16*16 = 768. */
        public int patchDim() { return numChannels * patchSize * patchSize; }
    }

    /** Parses a Hugging Face {@code config.json} (either form); errors name "config.json" and the field. */
    public static ModelConfig fromJson(String json) { return ModelConfigJson.parse(json, "config.json"); }

    /** As {@link #fromJson(String)}, naming {@code source} (e.g. the file's path) in errors. */
    public static ModelConfig fromJson(String json, String source) { return ModelConfigJson.parse(json, source); }

    /** Projector input width D*f^2. */
    public int projectorInputSize() { return vision.hiddenSize() * downsampleFactor * downsampleFactor; }

    /** Number of vision encoder layers that run (the whole tower unless visionFeatureLayer says otherwise). */
    public int visionLayersToRun() { return vision.numLayers(); }
}
