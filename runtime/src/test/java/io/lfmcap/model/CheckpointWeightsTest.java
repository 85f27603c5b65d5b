package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointWeightsTest {
    @TempDir
    Path dir;

    private void shard(String file, String... namesAndValue) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (int i = 0; i < namesAndValue.length; i += 2)
            entries.add(new SafetensorsWriter.Entry(namesAndValue[i], DType.F32, new long[] {1}));
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve(file), entries, Map.of())) {
            for (int i = 1; i < namesAndValue.length; i += 2) w.writeFloats(new float[] {Float.parseFloat(namesAndValue[i])});
        }
    }

    private void index(String weightMap) throws IOException {
        Files.writeString(dir.resolve(CheckpointWeights.INDEX_FILE), "{\"metadata\": {\"total_size\": 12}, \"weight_map\": {" + weightMap + "}}");
    }

    @Test
    void singleFileIsRead() {
        shard("model.safetensors", "a", "1", "b", "2");
        try (CheckpointWeights w = CheckpointWeights.open(dir)) {
            assertEquals(Set.of("a", "b"), w.names());
            assertArrayEquals(new float[] {2f}, w.get("b").toFloats());
            assertEquals(List.of(dir.resolve("model.safetensors")), w.files());
        }
    }

    @Test
    void shardedCheckpointFollowsTheIndex() throws IOException {
        shard("model-00002-of-00002.safetensors", "c", "3");
        shard("model-00001-of-00002.safetensors", "a", "1", "b", "2", "unlisted", "9");
        index("\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00001-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"");
        try (CheckpointWeights w = CheckpointWeights.open(dir)) {
            assertEquals(Set.of("a", "b", "c"), w.names(), "tensors not in the index are not part of the model");
            assertArrayEquals(new float[] {1f}, w.get("a").toFloats());
            assertArrayEquals(new float[] {3f}, w.get("c").toFloats());
            assertEquals(List.of(dir.resolve("model-00001-of-00002.safetensors"), dir.resolve("model-00002-of-00002.safetensors")), w.files());
        }
    }

    @Test
    void indexNamingAMissingShardIsReported() throws IOException {
        shard("model-00001-of-00002.safetensors", "a", "1");
        index("\"a\": \"model-00001-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"");
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointWeights.open(dir));
        assertTrue(e.getMessage().contains("maps 'c' to shard 'model-00002-of-00002.safetensors', which is not a file in"), e.getMessage());
    }

    @Test
    void indexListingATensorItsShardLacksIsReported() throws IOException {
        shard("model-00001-of-00001.safetensors", "a", "1");
        index("\"a\": \"model-00001-of-00001.safetensors\", \"z\": \"model-00001-of-00001.safetensors\"");
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointWeights.open(dir));
        assertTrue(e.getMessage().endsWith("lists 'z' in model-00001-of-00001.safetensors, but that shard does not hold it"), e.getMessage());
    }

    @Test
    void shardOutsideTheFolderIsRefused() throws IOException {
        index("\"a\": \"../elsewhere.safetensors\"");
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointWeights.open(dir));
        assertTrue(e.getMessage().contains("which is not a file in"), e.getMessage());
    }

    @Test
    void folderWithoutWeightsIsReported() {
        ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointWeights.open(dir));
        assertEquals(dir + " holds neither model.safetensors nor model.safetensors.index.json: not a Hugging Face checkpoint folder with safetensors weights", e.getMessage());
    }
}
