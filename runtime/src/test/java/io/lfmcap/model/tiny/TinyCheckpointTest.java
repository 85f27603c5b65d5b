package io.lfmcap.model.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.DType;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.Tensor;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import io.lfmcap.text.TinyTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyCheckpointTest {
    @TempDir
    Path tmp;

    @Test
    void architectureIsTheRealOneAtToyWidth() {
        for (Variant v : Variant.values()) {
            ModelConfig c = TinyCheckpoint.config(v);
            ModelConfig.TextConfig t = c.text();
            assertEquals(64, t.hiddenSize());
            assertEquals(List.of(false, true, false, true), t.attentionLayers(), "conv, attention, conv, attention");
            assertEquals(4, t.numHeads());
            assertEquals(2, t.numKvHeads());
            assertEquals(16, t.headDim());
            assertEquals(128, t.ffnDim(), "intermediate 180 -> int(120) -> next multiple of 32");
            assertEquals(TinyTokenizer.VOCAB_SIZE, t.vocabSize());
            assertEquals(7, t.eosTokenId());
            assertTrue(t.tieWordEmbeddings());
            assertEquals(new ModelConfig.VisionConfig(32, 64, 2, 2, 256, 16, 3, 1e-6, "gelu_pytorch_tanh"), c.vision());
            assertEquals(48, c.projectorHiddenSize());
            assertEquals(396, c.imageTokenId());
            assertEquals(v == Variant.LFM2_VL, c.projectorUseLayerNorm());
        }
    }

    @Test
    void configsUseEachGenerationsSpelling() {
        String v1 = TinyCheckpoint.configJson(Variant.LFM2_VL);
        assertTrue(v1.contains("\"block_ff_dim\" : 180") && v1.contains("\"full_attn_idxs\"") && v1.contains("\"image_token_index\""), v1);
        assertFalse(v1.contains("layer_types") || v1.contains("projector_use_layernorm") || v1.contains("intermediate_size\" : 180"), v1);
        String v25 = TinyCheckpoint.configJson(Variant.LFM2_5_VL);
        assertTrue(v25.contains("\"layer_types\"") && v25.contains("\"rope_parameters\"") && v25.contains("\"intermediate_size\" : 180"), v25);
        assertFalse(v25.contains("full_attn_idxs") || v25.contains("block_ff_dim"), v25);
    }

    @Test
    void writesACompleteCheckpointFolder() throws IOException {
        Path v1 = tmp.resolve("v1");
        Path v25 = tmp.resolve("v25");
        TinyCheckpoint.write(v1, Variant.LFM2_VL, 1);
        TinyCheckpoint.write(v25, Variant.LFM2_5_VL, 1);
        Set<String> common = Set.of("config.json", "model.safetensors", "processor_config.json", "generation_config.json",
                "chat_template.jinja", "tokenizer.json", "tokenizer_config.json");
        assertEquals(union(common, "preprocessor_config.json"), files(v1));
        assertEquals(common, files(v25));
        assertTrue(Files.readString(v25.resolve("processor_config.json")).contains("\"image_processor\""));
        assertTrue(Files.readString(v25.resolve("generation_config.json")).contains("\"eos_token_id\" : 7"));
    }

    @Test
    void sameSeedGivesTheSameBytes() throws IOException {
        TinyCheckpoint.write(tmp.resolve("a"), Variant.LFM2_5_VL, 5);
        TinyCheckpoint.write(tmp.resolve("b"), Variant.LFM2_5_VL, 5);
        TinyCheckpoint.write(tmp.resolve("c"), Variant.LFM2_5_VL, 6);
        byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertFalse(Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
    }

    @Test
    void weightsAreBf16WithTheDocumentedSpread() {
        Path dir = tmp.resolve("spread");
        TinyCheckpoint.write(dir, Variant.LFM2_VL, 3);
        try (CheckpointPackage p = CheckpointPackage.open(dir)) {
            for (String name : p.weights().names()) assertEquals(DType.BF16, p.weights().get(name).dtype(), name);
            String text = "model.language_model.";
            assertMoments(p.weights().get(text + "embed_tokens.weight"), 0, 0.3);
            assertMoments(p.weights().get(text + "layers.0.feed_forward.w1.weight"), 0, 0.3);
            assertMoments(p.weights().get(text + "layers.0.feed_forward.w2.weight"), 0, 0.3 * Math.sqrt(64.0 / 128));
            assertMoments(p.weights().get(text + "layers.0.conv.conv.weight"), 0, 0.5);
            assertMoments(p.weights().get(text + "layers.0.operator_norm.weight"), 1, 0.05);
            assertMoments(p.weights().get("model.multi_modal_projector.layer_norm.bias"), 0, 0.05);
        }
    }

    @Test
    void mainWritesTheRequestedVariant() throws IOException {
        Path dir = tmp.resolve("cli");
        TinyCheckpoint.main(new String[] {dir.toString(), "v1", "9"});
        assertEquals(TinyCheckpoint.configJson(Variant.LFM2_VL), Files.readString(dir.resolve("config.json")));
    }

    /** Sample mean and standard deviation within 4 standard errors of the intended ones. */
    private static void assertMoments(Tensor t, double mean, double std) {
        float[] v = t.toFloats();
        double sum = 0;
        double sq = 0;
        for (float x : v) sum += x;
        double m = sum / v.length;
        for (float x : v) sq += (x - m) * (x - m);
        double s = Math.sqrt(sq / v.length);
        assertEquals(mean, m, 4 * std / Math.sqrt(v.length) + 1e-3, t.name() + " mean");
        assertEquals(std, s, 4 * std / Math.sqrt(2.0 * v.length) + 0.01 * std, t.name() + " std");
    }

    private static Set<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    private static Set<String> union(Set<String> a, String b) {
        return Stream.concat(a.stream(), Stream.of(b)).collect(Collectors.toSet());
    }
}
