package io.lfmcap.model.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.SafetensorsFile;
import io.lfmcap.model.WeightSchema;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RandomCheckpointTest {
    @TempDir
    Path tmp;

    /** The tiny shape with an untied head, conv biases, no projector biases and an odd vocab. */
    private static ModelConfig variantShape() {
        ModelConfig tiny = TinyCheckpoint.config(Variant.LFM2_5_VL);
        ModelConfig.TextConfig t = tiny.text();
        ModelConfig.TextConfig text = new ModelConfig.TextConfig(t.hiddenSize(), 3, t.numHeads(), t.numKvHeads(), t.headDim(), 96,
                List.of(true, false, false), t.convKernel(), true, t.normEps(), 10_000.0, 1100, 4096, 1, 7, 0, false);
        return new ModelConfig(text, tiny.vision(), 40, true, false, 2, 396, -1);
    }

    @Test
    void writesALoadableFolderForAnyShape() {
        ModelConfig cfg = variantShape();
        Path dir = tmp.resolve("random");
        RandomCheckpoint.write(dir, cfg, 11);
        try (CheckpointPackage p = CheckpointPackage.open(dir)) {
            assertEquals(cfg, p.config());
            assertEquals(WeightSchema.of(cfg).expected().keySet(), p.weights().names());
            assertArrayEquals(new long[] {1100, 64}, p.weights().get(WeightSchema.LM_HEAD).shape());
            assertArrayEquals(new long[] {192}, p.weights().get("model.language_model.layers.1.conv.in_proj.bias").shape());
            assertTrue(p.processor().useThumbnail());
        }
    }

    @Test
    void weightsAloneFollowTheSchemaOrder() {
        ModelConfig cfg = TinyCheckpoint.config(Variant.LFM2_VL);
        Path file = tmp.resolve("w.safetensors");
        RandomCheckpoint.writeWeights(file, cfg, 1);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.copyOf(WeightSchema.of(cfg).expected().keySet()), List.copyOf(st.names()));
        }
    }

    @Test
    void vocabularyBelowTheTokenizersIsRefused() {
        String json = TinyCheckpoint.configJson(Variant.LFM2_5_VL).replace("\"vocab_size\" : 1024", "\"vocab_size\" : 500");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RandomCheckpoint.write(tmp.resolve("x"), json, 1));
        assertEquals("vocab_size 500 is below the tiny tokenizer's 1024", e.getMessage());
    }
}
