package io.lfmcap.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The byte-level BPE tokenizer of the tiny test model, built by this project: LFM2's layout and
 * pipeline at a small size. Ids 0..500 are LFM2's special tokens at their exact ids
 * (docs/model-lfm2-vl.md section 1.5; unnamed ids are {@code <|reserved_N|>}), ids 501..756 the 256
 * byte-alphabet tokens in byte order, then merges learned by {@link BpeTrainer} over
 * {@link TinyCorpus} up to {@link #VOCAB_SIZE}. Pre-tokenizer, post-processor and decoder are those
 * of LFM2's {@code tokenizer.json} (Split on the Llama-3 regex, ByteLevel without regex; a
 * TemplateProcessing that prepends {@code <|startoftext|>} only when special tokens are added).
 * The output is byte-for-byte the same on every run.
 */
public final class TinyTokenizer {
    /** Total vocabulary: 501 special ids, 256 byte tokens, 267 learned merges. */
    public static final int VOCAB_SIZE = 1024;
    /** Ids below this are special (added) tokens. */
    static final int SPECIAL_TOKENS = 501;
    /** Id of the token of byte 0; byte b has id FIRST_BYTE_ID + b. */
    static final int FIRST_BYTE_ID = SPECIAL_TOKENS;

    /** LFM2's pre-tokenizer split (tokenizers/Oniguruma syntax; Java reads it the same way). */
    static final String SPLIT_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private TinyTokenizer() {}

    /** Writes the Hugging Face {@code tokenizer.json} of the tiny tokenizer to {@code file}. */
    public static void writeTokenizerJson(Path file) {
        try {
            Files.write(file, tokenizerJson());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tiny tokenizer.json to " + file, e);
        }
    }

    /** The {@code tokenizer.json} bytes (UTF-8). */
    public static byte[] tokenizerJson() {
        return Built.JSON.clone();
    }

    /**
     * The tiny tokenizer with its vocabulary padded to {@code vocabSize} ids by plain BPE entries
     * {@code <|unused_ID|>} that no merge produces: for random checkpoints with a real model's vocabulary
     * (65,536), so that every id the model can emit decodes.
     */
    public static byte[] tokenizerJson(int vocabSize) {
        if (vocabSize < VOCAB_SIZE) throw new IllegalArgumentException("vocab size " + vocabSize + " is below the tiny tokenizer's " + VOCAB_SIZE);
        if (vocabSize == VOCAB_SIZE) return tokenizerJson();
        try {
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            com.fasterxml.jackson.databind.node.ObjectNode root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(Built.JSON);
            com.fasterxml.jackson.databind.node.ObjectNode vocab = (com.fasterxml.jackson.databind.node.ObjectNode) root.get("model").get("vocab");
            for (int id = VOCAB_SIZE; id < vocabSize; id++) vocab.put("<|unused_" + id + "|>", id);
            return json.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot pad the tiny tokenizer to " + vocabSize, e);
        }
    }

    /** Special token texts by id, 0..500. */
    static List<String> specialTokens() {
        String[] byId = new String[SPECIAL_TOKENS];
        byId[0] = Lfm2Tokens.PAD;
        byId[1] = Lfm2Tokens.BOS;
        byId[2] = Lfm2Tokens.EOS;
        byId[6] = Lfm2Tokens.IM_START;
        byId[7] = Lfm2Tokens.IM_END;
        String[] tools = {"<|tool_list_start|>", "<|tool_list_end|>", "<|tool_call_start|>", "<|tool_call_end|>",
                "<|tool_response_start|>", "<|tool_response_end|>"};
        System.arraycopy(tools, 0, byId, 8, tools.length);
        byId[396] = Lfm2Tokens.IMAGE;
        for (int r = 1; r <= Lfm2Tokens.MAX_TILE_MARKER; r++)
            for (int c = 1; c <= Lfm2Tokens.MAX_TILE_MARKER; c++)
                byId[397 + 10 * (r - 1) + (c - 1)] = Lfm2Tokens.tileMarker(r, c);
        byId[497] = Lfm2Tokens.IMAGE_THUMBNAIL;
        byId[498] = Lfm2Tokens.IMAGE_START;
        byId[499] = Lfm2Tokens.IMAGE_END;
        byId[500] = Lfm2Tokens.IMAGE_SPLIT;
        for (int id = 0; id < byId.length; id++) if (byId[id] == null) byId[id] = "<|reserved_" + id + "|>";
        return List.of(byId);
    }

    /** Built once per JVM: training takes a few milliseconds. */
    private static final class Built {
        static final byte[] JSON = build();
    }

    /** Trains and serialises from scratch (tests check two builds are identical). */
    static byte[] build() {
        List<String> specials = specialTokens();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : specials) vocab.put(s, vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), FIRST_BYTE_ID + b);
        List<BpeTrainer.Merge> merges = BpeTrainer.train(TinyCorpus.TEXT,
                Pattern.compile(SPLIT_REGEX, Pattern.UNICODE_CHARACTER_CLASS), VOCAB_SIZE - vocab.size());
        for (BpeTrainer.Merge m : merges) vocab.putIfAbsent(m.result(), vocab.size());
        if (vocab.size() != VOCAB_SIZE) throw new IllegalStateException("tiny vocabulary has " + vocab.size() + " tokens, expected " + VOCAB_SIZE);

        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < specials.size(); id++) {
            added.addObject().put("id", id).put("content", specials.get(id)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode preSteps = pre.putArray("pretokenizers");
        ObjectNode split = preSteps.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", SPLIT_REGEX);
        split.put("behavior", "Isolated").put("invert", false);
        preSteps.add(byteLevel(json, false, true, false));
        root.set("post_processor", bosTemplate(json));
        root.set("decoder", byteLevel(json, true, true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        ArrayNode mergesNode = model.putArray("merges");
        for (BpeTrainer.Merge m : merges) mergesNode.addArray().add(m.left()).add(m.right());

        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(DefaultPrettyPrinter.FixedSpaceIndenter.instance);
        try {
            return json.writer(printer).writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise the tiny tokenizer", e);
        }
    }

    private static ObjectNode byteLevel(ObjectMapper json, boolean addPrefixSpace, boolean trimOffsets, boolean useRegex) {
        return json.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace)
                .put("trim_offsets", trimOffsets).put("use_regex", useRegex);
    }

    /** LFM2's post-processor: ByteLevel offsets, then {@code <|startoftext|>} before each sequence. */
    private static ObjectNode bosTemplate(ObjectMapper json) {
        ObjectNode post = json.createObjectNode().put("type", "Sequence");
        ArrayNode steps = post.putArray("processors");
        steps.add(byteLevel(json, true, false, true));
        ObjectNode template = steps.addObject().put("type", "TemplateProcessing");
        ArrayNode single = template.putArray("single");
        single.add(special(json, Lfm2Tokens.BOS));
        single.add(sequence(json, "A"));
        ArrayNode pair = template.putArray("pair");
        pair.add(special(json, Lfm2Tokens.BOS));
        pair.add(sequence(json, "A"));
        pair.add(special(json, Lfm2Tokens.BOS));
        pair.add(sequence(json, "B"));
        ObjectNode bos = template.putObject("special_tokens").putObject(Lfm2Tokens.BOS);
        bos.put("id", Lfm2Tokens.BOS);
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add(Lfm2Tokens.BOS);
        return post;
    }

    private static ObjectNode special(ObjectMapper json, String token) {
        ObjectNode node = json.createObjectNode();
        node.putObject("SpecialToken").put("id", token).put("type_id", 0);
        return node;
    }

    private static ObjectNode sequence(ObjectMapper json, String id) {
        ObjectNode node = json.createObjectNode();
        node.putObject("Sequence").put("id", id).put("type_id", 0);
        return node;
    }
}
