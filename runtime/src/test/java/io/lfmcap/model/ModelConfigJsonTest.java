package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelConfigJsonTest {
    private static final List<Integer> LFM2_ATTENTION_LAYERS = List.of(2, 5, 8, 10, 12, 14);

    private static List<Integer> attentionIndices(ModelConfig.TextConfig t) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < t.numLayers(); i++) if (t.isAttention(i)) out.add(i);
        return out;
    }

    /** A minimal lfm2_vl config with the given text_config body (JSON object members). */
    private static ModelConfig withText(String textMembers) {
        return ModelConfig.fromJson("{\"model_type\": \"lfm2_vl\", \"text_config\": {" + textMembers + "}}");
    }

    @Test
    void readsLfm2Vl450mV1Config() {
        ModelConfig c = ModelConfig.fromJson(TestResources.text("lfm2-vl-450m.config.json"));
        ModelConfig.TextConfig t = c.text();
        assertEquals(1024, t.hiddenSize());
        assertEquals(16, t.numLayers());
        assertEquals(16, t.numHeads());
        assertEquals(8, t.numKvHeads());
        assertEquals(64, t.headDim());
        assertEquals(4608, t.ffnDim());
        assertEquals(LFM2_ATTENTION_LAYERS, attentionIndices(t));
        assertEquals(3, t.convKernel());
        assertFalse(t.convBias());
        assertEquals(1e-5, t.normEps());
        assertEquals(1_000_000.0, t.ropeTheta());
        assertEquals(65536, t.vocabSize());
        assertEquals(128_000, t.maxPositionEmbeddings());
        assertEquals(1, t.bosTokenId());
        assertEquals(7, t.eosTokenId());
        assertEquals(0, t.padTokenId());
        assertTrue(t.tieWordEmbeddings());

        ModelConfig.VisionConfig v = c.vision();
        assertEquals(new ModelConfig.VisionConfig(768, 3072, 12, 12, 256, 16, 3, 1e-6, "gelu_pytorch_tanh"), v);
        assertEquals(2560, c.projectorHiddenSize());
        assertTrue(c.projectorUseLayerNorm(), "absent projector_use_layernorm defaults to true");
        assertTrue(c.projectorBias());
        assertEquals(2, c.downsampleFactor());
        assertEquals(396, c.imageTokenId(), "image_token_index is an alias of image_token_id");
        assertEquals(-1, c.visionFeatureLayer());
        assertEquals(3072, c.projectorInputSize());
    }

    @Test
    void readsLfm25Vl450mConfig() {
        ModelConfig c = ModelConfig.fromJson(TestResources.text("lfm2.5-vl-450m.config.json"));
        assertEquals(4608, c.text().ffnDim());
        assertEquals(LFM2_ATTENTION_LAYERS, attentionIndices(c.text()));
        assertEquals(1_000_000.0, c.text().ropeTheta());
        assertEquals(2048, c.projectorHiddenSize());
        assertFalse(c.projectorUseLayerNorm());
        assertEquals(768, c.vision().hiddenSize());
    }

    @Test
    void readsLfm25Vl16bConfig() {
        ModelConfig c = ModelConfig.fromJson(TestResources.text("lfm2.5-vl-1.6b.config.json"));
        assertEquals(2048, c.text().hiddenSize());
        assertEquals(32, c.text().numHeads());
        assertEquals(64, c.text().headDim());
        assertEquals(8192, c.text().ffnDim());
        assertEquals(1152, c.vision().hiddenSize());
        assertEquals(27, c.vision().numLayers());
        assertEquals(72, c.vision().headDim());
        assertEquals(4304, c.vision().intermediateSize());
        assertEquals(4608, c.projectorInputSize());
    }

    @Test
    void blockFfDimOverridesIntermediateSize() {
        ModelConfig c = withText("\"intermediate_size\": 4096, \"block_ff_dim\": 6656");
        assertEquals(4608, c.text().ffnDim());
    }

    @Test
    void ffnWidthSkipsRoundingWithoutMultiplier() {
        // Lfm2MLP rounds to block_multiple_of only inside the "multiplier is not None" branch.
        assertEquals(4437, withText("\"intermediate_size\": 6656, \"block_ffn_dim_multiplier\": null").text().ffnDim());
    }

    @Test
    void ffnWidthAppliesMultiplierBeforeRounding() {
        // int(2*6656/3) = 4437; int(0.5*4437) = 2218; next multiple of 256 = 2304
        assertEquals(2304, withText("\"intermediate_size\": 6656, \"block_ffn_dim_multiplier\": 0.5").text().ffnDim());
    }

    @Test
    void ffnWidthIsRawWithoutAutoAdjust() {
        assertEquals(6656, withText("\"intermediate_size\": 6656, \"block_auto_adjust_ff_dim\": false").text().ffnDim());
    }

    @Test
    void layerTypesDeriveFromFullAttnIdxs() {
        ModelConfig c = withText("\"num_hidden_layers\": 6, \"full_attn_idxs\": [1, 4]");
        assertEquals(List.of(false, true, false, false, true, false), c.text().attentionLayers());
    }

    @Test
    void everyLayerIsAttentionWithoutLayerTypesOrIdxs() {
        ModelConfig c = withText("\"num_hidden_layers\": 3");
        assertEquals(List.of(true, true, true), c.text().attentionLayers());
    }

    @Test
    void ropeParametersWinOverThetaWhichWinsOverRopeTheta() {
        assertEquals(3.0, withText("\"rope_parameters\": {\"rope_theta\": 3.0}, \"theta\": 2.0, \"rope_theta\": 1.0").text().ropeTheta());
        assertEquals(2.0, withText("\"theta\": 2.0, \"rope_theta\": 1.0").text().ropeTheta());
        assertEquals(1.0, withText("\"rope_theta\": 1.0").text().ropeTheta());
        assertEquals(1_000_000.0, withText("").text().ropeTheta());
    }

    @Test
    void tieEmbeddingInTextConfigDecidesTying() {
        ModelConfig c = ModelConfig.fromJson("{\"model_type\": \"lfm2_vl\", \"tie_word_embeddings\": true, \"text_config\": {\"tie_embedding\": false}}");
        assertFalse(c.text().tieWordEmbeddings());
    }

    @Test
    void eosTokenListTakesTheFirstId() {
        assertEquals(7, withText("\"eos_token_id\": [7, 2]").text().eosTokenId());
    }

    @Test
    void absentFieldsTakeTransformersDefaults() {
        ModelConfig c = ModelConfig.fromJson("{\"model_type\": \"lfm2_vl\"}");
        ModelConfig.TextConfig t = c.text();
        // Lfm2Config(): hidden 2560, 32 layers (all attention), 32/8 heads, intermediate 12288 -> 8192, eos 2
        assertEquals(2560, t.hiddenSize());
        assertEquals(32, t.numLayers());
        assertEquals(80, t.headDim());
        assertEquals(8192, t.ffnDim());
        assertEquals(2, t.eosTokenId());
        assertTrue(t.attentionLayers().stream().allMatch(a -> a));
        // Siglip2VisionConfig(): base NaFlex; Lfm2VlConfig(): projector 2560 with LayerNorm, token 396
        assertEquals(new ModelConfig.VisionConfig(768, 3072, 12, 12, 256, 16, 3, 1e-6, "gelu_pytorch_tanh"), c.vision());
        assertEquals(2560, c.projectorHiddenSize());
        assertTrue(c.projectorUseLayerNorm());
        assertEquals(396, c.imageTokenId());
    }

    @Test
    void writtenConfigParsesBackEqual() {
        for (String name : List.of("lfm2-vl-450m.config.json", "lfm2.5-vl-450m.config.json", "lfm2.5-vl-1.6b.config.json")) {
            ModelConfig c = ModelConfig.fromJson(TestResources.text(name));
            assertEquals(c, ModelConfig.fromJson(ModelConfigJson.write(c)), name);
        }
    }

    @Test
    void invalidJsonNamesTheFile() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelConfig.fromJson("{\"model_type\": ", "ckpt/config.json"));
        assertTrue(e.getMessage().startsWith("ckpt/config.json is not valid JSON"), e.getMessage());
    }

    @Test
    void badFieldIsNamedWithItsPath() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> withText("\"hidden_size\": -3"));
        assertEquals("config.json: text_config.hidden_size must be a positive integer (found -3)", e.getMessage());
    }

    @Test
    void nonIntegerFieldIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> withText("\"num_hidden_layers\": \"16\""));
        assertEquals("config.json: text_config.num_hidden_layers must be an integer (found \"16\")", e.getMessage());
    }

    @Test
    void layerTypesMustMatchLayerCount() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> withText("\"num_hidden_layers\": 3, \"layer_types\": [\"conv\", \"conv\"]"));
        assertEquals("config.json: text_config.layer_types has 2 entries but num_hidden_layers is 3", e.getMessage());
    }

    @Test
    void unknownLayerTypeIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> withText("\"num_hidden_layers\": 1, \"layer_types\": [\"sliding_attention\"]"));
        assertTrue(e.getMessage().contains("text_config.layer_types entries must be \"conv\" or \"full_attention\""), e.getMessage());
    }

    @Test
    void otherModelTypeIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelConfig.fromJson("{\"model_type\": \"llava\"}"));
        assertTrue(e.getMessage().startsWith("config.json: model_type is \"llava\""), e.getMessage());
    }

    @Test
    void missingModelTypeIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelConfig.fromJson("{}"));
        assertTrue(e.getMessage().startsWith("config.json: model_type is missing"), e.getMessage());
    }

    @Test
    void scaledRopeIsRejected() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> withText("\"rope_parameters\": {\"rope_theta\": 1.0, \"rope_type\": \"yarn\"}"));
        assertTrue(e.getMessage().contains("text_config.rope_parameters.rope_type \"yarn\" is not supported"), e.getMessage());
    }

    @Test
    void kvHeadsMustDivideHeads() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> withText("\"num_attention_heads\": 16, \"num_key_value_heads\": 6"));
        assertEquals("config.json: text_config.num_key_value_heads must divide num_attention_heads 16 (found 6)", e.getMessage());
    }

    @Test
    void positionTableMustBeSquare() {
        ModelFileException e = assertThrows(ModelFileException.class,
                () -> ModelConfig.fromJson("{\"model_type\": \"lfm2_vl\", \"vision_config\": {\"num_patches\": 200}}"));
        assertTrue(e.getMessage().startsWith("config.json: vision_config.num_patches must be a square number"), e.getMessage());
    }
}
