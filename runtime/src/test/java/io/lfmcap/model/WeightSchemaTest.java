package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class WeightSchemaTest {
    private static final ModelConfig LFM25_450M = ModelConfig.fromJson(TestResources.text("lfm2.5-vl-450m.config.json"));
    private static final ModelConfig LFM25_16B = ModelConfig.fromJson(TestResources.text("lfm2.5-vl-1.6b.config.json"));
    private static final ModelConfig LFM2_450M = ModelConfig.fromJson(TestResources.text("lfm2-vl-450m.config.json"));

    @Test
    void tensorCountsMatchTheReleasedCheckpoints() {
        // header-confirmed counts of the LFM2.5-VL safetensors (docs section 7)
        assertEquals(349, WeightSchema.of(LFM25_450M).expected().size());
        assertEquals(589, WeightSchema.of(LFM25_16B).expected().size());
        assertEquals(351, WeightSchema.of(LFM2_450M).expected().size(), "v1 adds the projector LayerNorm");
    }

    @Test
    void shapesFollowTheConfig() {
        Map<String, long[]> s = WeightSchema.of(LFM25_16B).expected();
        assertArrayEquals(new long[] {65536, 2048}, s.get("model.language_model.embed_tokens.weight"));
        assertArrayEquals(new long[] {8192, 2048}, s.get("model.language_model.layers.0.feed_forward.w1.weight"));
        assertArrayEquals(new long[] {2048, 8192}, s.get("model.language_model.layers.0.feed_forward.w2.weight"));
        assertArrayEquals(new long[] {6144, 2048}, s.get("model.language_model.layers.0.conv.in_proj.weight"));
        assertArrayEquals(new long[] {2048, 1, 3}, s.get("model.language_model.layers.0.conv.conv.weight"));
        assertArrayEquals(new long[] {512, 2048}, s.get("model.language_model.layers.2.self_attn.k_proj.weight"));
        assertArrayEquals(new long[] {64}, s.get("model.language_model.layers.2.self_attn.q_layernorm.weight"));
        assertFalse(s.containsKey("model.language_model.layers.2.conv.in_proj.weight"), "attention layer has no conv");
        assertFalse(s.containsKey("model.language_model.layers.0.self_attn.q_proj.weight"), "conv layer has no attention");
        assertArrayEquals(new long[] {1152, 768}, s.get("model.vision_tower.vision_model.embeddings.patch_embedding.weight"));
        assertArrayEquals(new long[] {256, 1152}, s.get("model.vision_tower.vision_model.embeddings.position_embedding.weight"));
        assertArrayEquals(new long[] {4304, 1152}, s.get("model.vision_tower.vision_model.encoder.layers.26.mlp.fc1.weight"));
        assertArrayEquals(new long[] {2048, 4608}, s.get("model.multi_modal_projector.linear_1.weight"));
        assertArrayEquals(new long[] {2048, 2048}, s.get("model.multi_modal_projector.linear_2.weight"));
        assertFalse(s.containsKey("model.multi_modal_projector.layer_norm.weight"));
        assertFalse(s.containsKey(WeightSchema.LM_HEAD), "tied head is not stored");
    }

    @Test
    void projectorLayerNormOnlyWhenEnabled() {
        Map<String, long[]> s = WeightSchema.of(LFM2_450M).expected();
        assertArrayEquals(new long[] {3072}, s.get("model.multi_modal_projector.layer_norm.weight"));
        assertArrayEquals(new long[] {3072}, s.get("model.multi_modal_projector.layer_norm.bias"));
        assertArrayEquals(new long[] {2560, 3072}, s.get("model.multi_modal_projector.linear_1.weight"));
    }

    @Test
    void exactStorePasses() {
        WeightSchema schema = WeightSchema.of(LFM25_450M);
        assertDoesNotThrow(() -> schema.validate(new ShapeStore(schema.expected())));
    }

    @Test
    void oneErrorListsEveryMissingExtraAndMisShapedTensor() {
        WeightSchema schema = WeightSchema.of(LFM25_450M);
        ShapeStore store = new ShapeStore(schema.expected())
                .remove("model.language_model.layers.3.conv.in_proj.weight")
                .remove("model.multi_modal_projector.linear_2.bias")
                .put("model.language_model.layers.0.feed_forward.w1.weight", 4437, 1024)
                .put("model.multi_modal_projector.layer_norm.weight", 3072);
        ModelFileException e = assertThrows(ModelFileException.class, () -> schema.validate(store));
        assertEquals("test-store: the weights do not match config.json (4 problems):\n"
                + "  wrong shape model.language_model.layers.0.feed_forward.w1.weight: expected [4608, 1024], found [4437, 1024]\n"
                + "  missing     model.language_model.layers.3.conv.in_proj.weight (expected [3072, 1024])\n"
                + "  missing     model.multi_modal_projector.linear_2.bias (expected [1024])\n"
                + "  extra       model.multi_modal_projector.layer_norm.weight (found [3072])", e.getMessage());
    }

    @Test
    void siglipPoolingHeadSavedByTransformersIsToleratedButOtherExtrasAreNot() {
        WeightSchema schema = WeightSchema.of(LFM25_450M);
        ShapeStore withHead = new ShapeStore(schema.expected())
                .put("model.vision_tower.vision_model.head.probe", 1, 1, 768)
                .put("model.vision_tower.vision_model.head.attention.in_proj_weight", 2304, 768)
                .put("model.vision_tower.vision_model.head.mlp.fc1.weight", 3072, 768);
        assertDoesNotThrow(() -> schema.validate(withHead));
        ShapeStore stray = new ShapeStore(schema.expected()).put("model.vision_tower.vision_model.headless.weight", 3);
        assertThrows(ModelFileException.class, () -> schema.validate(stray));
    }

    @Test
    void tiedHeadOfTheEmbeddingShapeIsTolerated() {
        WeightSchema schema = WeightSchema.of(LFM25_450M);
        assertDoesNotThrow(() -> schema.validate(new ShapeStore(schema.expected()).put(WeightSchema.LM_HEAD, 65536, 1024)));
        ModelFileException e = assertThrows(ModelFileException.class,
                () -> schema.validate(new ShapeStore(schema.expected()).put(WeightSchema.LM_HEAD, 1000, 1024)));
        assertTrue(e.getMessage().contains("wrong shape lm_head.weight (tied to embed_tokens): expected [65536, 1024], found [1000, 1024]"), e.getMessage());
    }

    @Test
    void untiedHeadIsRequired() {
        String json = TestResources.text("lfm2.5-vl-450m.config.json").replace("\"tie_embedding\": true", "\"tie_embedding\": false");
        WeightSchema schema = WeightSchema.of(ModelConfig.fromJson(json));
        assertArrayEquals(new long[] {65536, 1024}, schema.expected().get(WeightSchema.LM_HEAD));
        ShapeStore store = new ShapeStore(schema.expected()).remove(WeightSchema.LM_HEAD);
        ModelFileException e = assertThrows(ModelFileException.class, () -> schema.validate(store));
        assertTrue(e.getMessage().contains("missing     lm_head.weight (expected [65536, 1024])"), e.getMessage());
    }

    @Test
    void foreignNamingSchemeGetsAHint() {
        WeightSchema schema = WeightSchema.of(LFM25_450M);
        ModelFileException e = assertThrows(ModelFileException.class,
                () -> schema.validate(new ShapeStore(Map.of("language_model.model.embed_tokens.weight", new long[] {65536, 1024}))));
        assertTrue(e.getMessage().endsWith("(no expected tensor is present: this checkpoint uses other names; expected prefixes "
                + "model.language_model., model.vision_tower.vision_model., model.multi_modal_projector.)"), e.getMessage());
    }
}
