package io.lfmcap.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The token texts of a {@code tokenizer.json}: {@code model.vocab} (BPE, WordPiece, WordLevel: an
 * object of token to id) and the contents of {@code added_tokens}. Read with a streaming parser so
 * the merges are skipped, not built.
 */
final class TokenizerVocabulary {
    /** token text to id, from {@code model.vocab} */
    final Map<String, Integer> modelVocab = new HashMap<>();
    /** contents of {@code added_tokens}, in file order, with the id the file states */
    final List<AddedToken> addedTokens = new ArrayList<>();

    record AddedToken(String content, int declaredId) {}

    private TokenizerVocabulary() {}

    static TokenizerVocabulary parse(byte[] json, String source) {
        TokenizerVocabulary vocabulary = new TokenizerVocabulary();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "the top level", source);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.getCurrentName();
                JsonToken value = p.nextToken();
                if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) vocabulary.readAddedTokens(p, source);
                else if (field.equals("model") && value == JsonToken.START_OBJECT) vocabulary.readModel(p, source);
                else p.skipChildren();
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer " + source + " is not valid JSON: " + e.getMessage(), e);
        }
        if (vocabulary.modelVocab.isEmpty())
            throw new IllegalArgumentException("tokenizer " + source + " has no model.vocab object; expected a Hugging Face tokenizer.json with a BPE model");
        return vocabulary;
    }

    private void readAddedTokens(JsonParser p, String source) throws IOException {
        while (p.nextToken() == JsonToken.START_OBJECT) {
            String content = null;
            int id = -1;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.getCurrentName();
                p.nextToken();
                if (field.equals("content")) content = p.getText();
                else if (field.equals("id")) id = p.getIntValue();
                else p.skipChildren();
            }
            if (content == null || id < 0)
                throw new IllegalArgumentException("tokenizer " + source + ": an added_tokens entry lacks its content or id");
            addedTokens.add(new AddedToken(content, id));
        }
    }

    private void readModel(JsonParser p, String source) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.getCurrentName();
            JsonToken value = p.nextToken();
            if (!field.equals("vocab")) {
                p.skipChildren();
                continue;
            }
            expect(value, JsonToken.START_OBJECT, "model.vocab (a token-to-id object; Unigram models are not supported)", source);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String token = p.getCurrentName();
                expect(p.nextToken(), JsonToken.VALUE_NUMBER_INT, "the id of vocab token '" + token + "'", source);
                modelVocab.put(token, p.getIntValue());
            }
        }
    }

    private static void expect(JsonToken actual, JsonToken expected, String what, String source) {
        if (actual != expected)
            throw new IllegalArgumentException("tokenizer " + source + ": expected " + what + " to be " + expected + ", found " + actual);
    }
}
