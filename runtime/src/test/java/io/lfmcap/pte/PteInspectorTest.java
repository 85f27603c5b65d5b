package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import io.lfmcap.text.TinyTokenizer;
import org.junit.jupiter.api.Test;

class PteInspectorTest {
    @Test
    void reportListsFormatModelMethodsConstantsAndNamedData() throws Exception {
        PteInspector report = PteInspector.inspect(TinyExports.pte());
        JsonNode json = new ObjectMapper().readTree(report.toJson());

        assertEquals("ET12", json.at("/format/identifier").asText());
        assertEquals("eh00", json.at("/format/extended_header").asText());
        assertEquals(1, json.at("/format/lfmcap_format_version").asInt());
        assertEquals("LFM2.5-VL", json.at("/model/family").asText());
        assertTrue(json.get("runnable").asBoolean());

        JsonNode decoder = json.get("methods").get(0);
        assertEquals("text_decoder", decoder.get("name").asText());
        assertEquals("LfmcapBackend", decoder.at("/backends/0").asText());
        assertEquals("cache_position", decoder.at("/inputs/1/name").asText());
        assertEquals("LONG", decoder.at("/inputs/1/dtype").asText());
        assertEquals("logits", decoder.at("/outputs/0/name").asText());
        assertEquals(TinyTokenizer.VOCAB_SIZE, decoder.at("/outputs/0/sizes/1").asInt());
        assertEquals("constant", json.get("methods").get(3).get("kind").asText());

        assertEquals(TinyTokenizer.VOCAB_SIZE, json.at("/constants/get_vocab_size").asInt());
        assertEquals(7, json.at("/constants/get_eos_ids/0").asInt());

        JsonNode embed = null;
        for (JsonNode n : json.get("named_data")) if (n.get("key").asText().equals("model.language_model.embed_tokens.weight")) embed = n;
        assertEquals("BF16", embed.get("dtype").asText());
        assertEquals(TinyTokenizer.VOCAB_SIZE * 64 * 2, embed.get("size").asLong());
        assertEquals(64, embed.get("sha256").asText().length());
        assertEquals("lfmcap/manifest.json", json.get("named_data").get(json.get("named_data").size() - 1).get("key").asText());
    }

    @Test
    void textReportReadsAsASummary() {
        String text = PteInspector.inspect(TinyExports.pte(Variant.LFM2_VL, true)).toText();
        assertTrue(text.contains("format       ExecuTorch program ET12, extended header eh00, Program.version 0, lfmcap format 1"), text);
        assertTrue(text.contains("model        LFM2-VL custom-"), text);
        assertTrue(text.contains("weights      in model.ptd"), text);
        assertTrue(text.contains("vision_encoder       LfmcapBackend  (pixel_values: FLOAT[11, 1024, 768] dynamic, spatial_shapes: LONG[11, 2] dynamic) -> (image_embeddings: FLOAT[1, 2816, 64] dynamic)"), text);
        assertTrue(text.contains("get_eos_ids          [7]"), text);
        assertTrue(text.contains("lfmcap/tokenizer.json"), text);
        assertTrue(text.contains("model.language_model.embed_tokens.weight"), text);
    }
}
