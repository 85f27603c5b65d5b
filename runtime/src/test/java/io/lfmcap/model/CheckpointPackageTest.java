package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import io.lfmcap.text.TinyTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointPackageTest {
    @TempDir
    Path tmp;

    private Path tiny(Variant variant) {
        Path dir = tmp.resolve("tiny-" + variant.name().toLowerCase());
        TinyCheckpoint.write(dir, variant, 7);
        return dir;
    }

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void opensTheTinyLfm25Checkpoint() throws Exception {
        Path dir = tiny(Variant.LFM2_5_VL);
        try (CheckpointPackage p = CheckpointPackage.open(dir)) {
            assertEquals(TinyCheckpoint.config(Variant.LFM2_5_VL), p.config());
            assertEquals("tiny-lfm2_5_vl", p.name());
            assertArrayEquals(TinyTokenizer.tokenizerJson(), p.tokenizerJson());
            assertTrue(p.chatTemplate().startsWith("{{bos_token}}{% for message in messages %}"), p.chatTemplate());
            assertTrue(p.processor().useThumbnail());
            assertEquals(256, p.processor().maxImageTokens());
            assertEquals(WeightSchema.of(p.config()).expected().keySet(), p.weights().names());
            assertEquals(sha256(Files.readAllBytes(dir.resolve("model.safetensors"))), p.sha256());
            assertSame(p.sha256(), p.sha256(), "computed once");
        }
    }

    @Test
    void opensTheTinyLfm2V1Checkpoint() {
        try (CheckpointPackage p = CheckpointPackage.open(tiny(Variant.LFM2_VL))) {
            assertTrue(p.config().projectorUseLayerNorm());
            assertTrue(p.weights().contains("model.multi_modal_projector.layer_norm.weight"));
            assertEquals(2, p.processor().resample(), "from preprocessor_config.json");
            assertEquals(10, p.processor().maxTiles(), "from processor_config.json");
        }
    }

    @Test
    void missingTokenizerNamesTheFolder() throws IOException {
        Path dir = tiny(Variant.LFM2_5_VL);
        Files.delete(dir.resolve("tokenizer.json"));
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointPackage.open(dir));
        assertEquals(dir + " has no tokenizer.json (the Hugging Face tokenizer file): copy it from the model repository into the folder", e.getMessage());
    }

    @Test
    void missingConfigNamesTheFolder() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointPackage.open(tmp));
        assertEquals(tmp + " has no config.json: not a Hugging Face checkpoint folder", e.getMessage());
    }

    @Test
    void weightsThatDoNotFitTheConfigAreRefused() throws IOException {
        Path dir = tiny(Variant.LFM2_5_VL);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"projector_use_layernorm\" : false", "\"projector_use_layernorm\" : true"));
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointPackage.open(dir));
        assertTrue(e.getMessage().contains("(2 problems):\n  missing     model.multi_modal_projector.layer_norm.weight (expected [128])\n"
                + "  missing     model.multi_modal_projector.layer_norm.bias (expected [128])"), e.getMessage());
    }

    @Test
    void chatTemplateFallsBackToTokenizerConfig() throws IOException {
        Path dir = tiny(Variant.LFM2_5_VL);
        Files.delete(dir.resolve("chat_template.jinja"));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}");
        try (CheckpointPackage p = CheckpointPackage.open(dir)) {
            assertEquals("D", p.chatTemplate());
        }
    }

    @Test
    void chatTemplateIsOptional() throws IOException {
        Path dir = tiny(Variant.LFM2_5_VL);
        Files.delete(dir.resolve("chat_template.jinja"));
        Files.delete(dir.resolve("tokenizer_config.json"));
        try (CheckpointPackage p = CheckpointPackage.open(dir)) {
            assertNull(p.chatTemplate());
        }
    }

    @Test
    void processorDisagreeingWithTheConfigIsRefused() throws IOException {
        Path dir = tiny(Variant.LFM2_5_VL);
        Files.writeString(dir.resolve("processor_config.json"), "{\"image_processor\": {\"downsample_factor\": 4}}");
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointPackage.open(dir));
        assertTrue(e.getMessage().startsWith(dir + ": the processor's downsample_factor 4 differs from config.json's 2"), e.getMessage());
    }

    @Test
    void badProcessorFileIsNamedWithTheFolder() throws IOException {
        Path dir = tiny(Variant.LFM2_5_VL);
        Files.writeString(dir.resolve("processor_config.json"), "{\"image_processor\": {\"tile_size\": -1}}");
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointPackage.open(dir));
        assertEquals(dir + ": processor_config.json: image_processor.tile_size must be a positive integer (found -1)", e.getMessage());
    }

    @Test
    void closingReleasesTheWeights() {
        CheckpointPackage p = CheckpointPackage.open(tiny(Variant.LFM2_5_VL));
        MappedTensor t = p.weights().get("model.language_model.embedding_norm.weight");
        p.close();
        assertThrows(IllegalStateException.class, t::toFloats);
    }
}
