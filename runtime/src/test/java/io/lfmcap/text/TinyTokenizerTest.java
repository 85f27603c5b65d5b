package io.lfmcap.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyTokenizerTest {
    private static JsonNode json;

    @BeforeAll
    static void parse() throws Exception {
        json = new ObjectMapper().readTree(TinyTokenizer.tokenizerJson());
    }

    @Test
    void twoBuildsAreByteIdentical() {
        assertArrayEquals(TinyTokenizer.build(), TinyTokenizer.build());
    }

    @Test
    void jsonIsPinnedByDigestSoTinyModelFixturesStayValid() throws Exception {
        // If the corpus, trainer or layout changes on purpose, update this digest and regenerate
        // every fixture made with the tiny tokenizer.
        String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(TinyTokenizer.tokenizerJson()));
        assertEquals(TINY_TOKENIZER_SHA256, sha256);
    }

    @Test
    void writeTokenizerJsonWritesTheSameBytes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        TinyTokenizer.writeTokenizerJson(file);
        assertArrayEquals(TinyTokenizer.tokenizerJson(), Files.readAllBytes(file));
    }

    @Test
    void vocabularyHasVocabSizeContiguousIds() {
        JsonNode vocab = json.at("/model/vocab");
        assertEquals(TinyTokenizer.VOCAB_SIZE, vocab.size());
        boolean[] seen = new boolean[TinyTokenizer.VOCAB_SIZE];
        vocab.fields().forEachRemaining(e -> seen[e.getValue().asInt()] = true);
        for (int id = 0; id < seen.length; id++) assertTrue(seen[id], "id " + id + " unused");
    }

    @Test
    void specialTokensSitAtLfm2Ids() {
        Map<Integer, String> added = new HashMap<>();
        for (JsonNode t : json.get("added_tokens")) {
            assertTrue(t.get("special").asBoolean());
            added.put(t.get("id").asInt(), t.get("content").asText());
        }
        assertEquals(501, added.size());
        assertEquals("<|pad|>", added.get(0));
        assertEquals("<|startoftext|>", added.get(1));
        assertEquals("<|endoftext|>", added.get(2));
        assertEquals("<|im_start|>", added.get(6));
        assertEquals("<|im_end|>", added.get(7));
        assertEquals("<|tool_list_start|>", added.get(8));
        assertEquals("<|tool_response_end|>", added.get(13));
        assertEquals("<image>", added.get(396));
        assertEquals("<|img_row_1_col_1|>", added.get(397));
        assertEquals("<|img_row_2_col_3|>", added.get(397 + 10 + 2));
        assertEquals("<|img_row_10_col_10|>", added.get(496));
        assertEquals("<|img_thumbnail|>", added.get(497));
        assertEquals("<|image_start|>", added.get(498));
        assertEquals("<|image_end|>", added.get(499));
        assertEquals("<|image_split|>", added.get(500));
        assertEquals("<|reserved_14|>", added.get(14));
        // every added token has the same id in the model vocabulary, as in LFM2's tokenizer.json
        added.forEach((id, content) -> assertEquals(id, json.at("/model/vocab").get(content).asInt()));
    }

    @Test
    void byteAlphabetFollowsTheSpecialTokensInByteOrder() {
        JsonNode vocab = json.at("/model/vocab");
        assertEquals(501 + 'a', vocab.get("a").asInt());
        assertEquals(501 + ' ', vocab.get("\u0120").asInt()); // 'Ġ' is the byte-level space
        assertEquals(501 + '\n', vocab.get("\u010a").asInt()); // 'Ċ' is the byte-level newline
        assertEquals(501 + 0xff, vocab.get("\u00ff").asInt());
    }

    @Test
    void everyMergeJoinsTwoVocabularyTokensIntoAVocabularyToken() {
        JsonNode vocab = json.at("/model/vocab");
        JsonNode merges = json.at("/model/merges");
        assertEquals(TinyTokenizer.VOCAB_SIZE - 501 - 256, merges.size());
        for (Iterator<JsonNode> it = merges.elements(); it.hasNext(); ) {
            JsonNode m = it.next();
            String left = m.get(0).asText(), right = m.get(1).asText();
            assertTrue(vocab.has(left) && vocab.has(right) && vocab.has(left + right), left + " + " + right);
        }
    }

    @Test
    void pipelineIsLfm2s() {
        assertEquals("Split", json.at("/pre_tokenizer/pretokenizers/0/type").asText());
        assertEquals(TinyTokenizer.SPLIT_REGEX, json.at("/pre_tokenizer/pretokenizers/0/pattern/Regex").asText());
        assertEquals("ByteLevel", json.at("/pre_tokenizer/pretokenizers/1/type").asText());
        assertFalse(json.at("/pre_tokenizer/pretokenizers/1/use_regex").asBoolean());
        assertFalse(json.at("/pre_tokenizer/pretokenizers/1/add_prefix_space").asBoolean());
        assertEquals("ByteLevel", json.at("/decoder/type").asText());
        assertEquals("BPE", json.at("/model/type").asText());
        assertFalse(json.at("/model/byte_fallback").asBoolean());
        assertFalse(json.at("/model/ignore_merges").asBoolean());
    }

    @Test
    void captionRequestTokenizesIntoFewTokens() {
        try (Tokenizer tokenizer = Tokenizer.fromJson(TinyTokenizer.tokenizerJson(), "tiny")) {
            int[] ids = tokenizer.encode("Describe this image.");
            assertTrue(ids.length <= 4, "Describe this image. -> " + ids.length + " tokens");
            assertEquals(TinyTokenizer.VOCAB_SIZE, tokenizer.vocabSize());
        }
    }

    private static final String TINY_TOKENIZER_SHA256 = "171cfb432790960daf69f8de6648768275001b8bfb5f69da6a8ebe566f87cf82";
}
