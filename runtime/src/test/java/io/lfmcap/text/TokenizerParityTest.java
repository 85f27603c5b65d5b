package io.lfmcap.text;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Parity with the Python {@code tokenizers} library: a {@code tokenizer.json} and texts with the ids
 * that {@code tokenizer.encode(text, add_special_tokens=False)} gave on the fixture host (test
 * resources {@code parity/tokenizer/}, format {@code {"tokenizers_version": "...", "cases":
 * [{"text": "...", "ids": [...]}]}}). Skipped while that fixture is absent.
 */
class TokenizerParityTest {
    private static final String DIR = "/parity/tokenizer/";

    @Test
    void idsAndDecodeMatchTheTokenizersLibraryForEveryCase() throws IOException {
        byte[] json = resource("tokenizer.json");
        byte[] casesJson = resource("cases.json");
        Assumptions.assumeTrue(json != null && casesJson != null, "parity fixture " + DIR + " not present yet");
        JsonNode fixture = new ObjectMapper().readTree(casesJson);
        JsonNode cases = fixture.path("cases");
        assertTrue(cases.size() > 0, "fixture " + DIR + "cases.json has no cases");
        List<String> mismatches = new ArrayList<>();
        try (Tokenizer tokenizer = Tokenizer.fromJson(json, DIR + "tokenizer.json")) {
            for (int i = 0; i < cases.size(); i++) {
                String text = cases.get(i).get("text").asText();
                JsonNode expectedIds = cases.get(i).get("ids");
                int[] expected = IntStream.range(0, expectedIds.size()).map(k -> expectedIds.get(k).asInt()).toArray();
                int[] ids = tokenizer.encode(text);
                if (!Arrays.equals(expected, ids))
                    mismatches.add("case " + i + " " + quote(text) + ": expected " + Arrays.toString(expected) + ", got " + Arrays.toString(ids));
                else if (!text.equals(tokenizer.decode(ids, false)))
                    mismatches.add("case " + i + " " + quote(text) + ": decodes to " + quote(tokenizer.decode(ids, false)));
            }
        }
        assertTrue(mismatches.isEmpty(), () -> mismatches.size() + " of " + cases.size() + " cases differ from tokenizers "
                + fixture.path("tokenizers_version").asText("?") + ":\n" + String.join("\n", mismatches.subList(0, Math.min(20, mismatches.size()))));
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = TokenizerParityTest.class.getResourceAsStream(DIR + name)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    private static String quote(String text) {
        return '"' + text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"';
    }
}
