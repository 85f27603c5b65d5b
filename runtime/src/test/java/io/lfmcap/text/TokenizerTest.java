package io.lfmcap.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenizerTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.fromJson(TinyTokenizer.tokenizerJson(), "tiny-tokenizer.json");
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Describe this image.",
            "",
            " ",
            "a",
            "   leading and trailing spaces   ",
            "tabs\tand\t\ttabs",
            "line one\nline two\r\nline three\n\n\n",
            "  \n \n  ",
            "Crème brûlée, naïve café, Ångström, Øresund",
            "Ελληνικά και русский текст",
            "日本語のテキスト、中文文本、한국어",
            "emoji 🎉🐈‍⬛ 👍🏽 and flags 🇫🇷",
            "digits 0123456789 3.14159 1,000,000 ½ Ⅻ ٣",
            "punctuation!?.,;:'\"()[]{}<>@#$%^&*-_=+|\\/~`",
            "it's we're they've I'm you'll he'd IT'S",
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
            "inline <image> and <|image_start|><|img_row_1_col_2|><|image_end|> markers",
            "<|startoftext|>",
            "almost special <|im_start| and <image and image>",
            "\u0000 control \u0007 chars \u001b[0m",
    })
    void decodeInvertsEncode(String text) {
        assertEquals(text, tokenizer.decode(tokenizer.encode(text), false));
    }

    @Test
    void specialTokensMapToTheirLfm2Ids() {
        assertEquals(0, tokenizer.tokenId("<|pad|>"));
        assertEquals(1, tokenizer.tokenId("<|startoftext|>"));
        assertEquals(2, tokenizer.tokenId("<|endoftext|>"));
        assertEquals(6, tokenizer.tokenId("<|im_start|>"));
        assertEquals(7, tokenizer.tokenId("<|im_end|>"));
        assertEquals(396, tokenizer.tokenId("<image>"));
        assertEquals(397 + 10 * 2 + 4, tokenizer.tokenId("<|img_row_3_col_5|>"));
        assertEquals(497, tokenizer.tokenId("<|img_thumbnail|>"));
        assertEquals(498, tokenizer.tokenId("<|image_start|>"));
        assertEquals(499, tokenizer.tokenId("<|image_end|>"));
    }

    @Test
    void specialTokenTextInsideTheInputEncodesAsTheToken() {
        int[] ids = tokenizer.encode("a<|im_start|>b<image><image>c");
        assertArrayEquals(concat(tokenizer.encode("a"), new int[] {6}, tokenizer.encode("b"), new int[] {396, 396}, tokenizer.encode("c")), ids);
    }

    @Test
    void encodeAddsNoBosAndNoEos() {
        int[] ids = tokenizer.encode("hello");
        assertNotEquals(1, ids[0]);
        assertEquals("hello", tokenizer.decode(ids, false));
    }

    @Test
    void encodeNeverTruncates() {
        assertEquals(5000, tokenizer.encode("<image>".repeat(5000)).length);
    }

    @Test
    void decodeCanSkipSpecialTokens() {
        int[] ids = tokenizer.encode("<|im_start|>assistant\nA cat.<|im_end|>");
        assertEquals("assistant\nA cat.", tokenizer.decode(ids, true));
    }

    @Test
    void decodeRefusesIdsOutsideTheVocabulary() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {5, 1024}, false));
        assertTrue(e.getMessage().contains("1024") && e.getMessage().contains("tiny-tokenizer.json"), e.getMessage());
    }

    @Test
    void tokenTextsAreByteLevelSpellings() {
        assertEquals("<image>", tokenizer.token(396));
        assertEquals("\u0120", tokenizer.token(501 + ' '));
        int[] ids = tokenizer.encode(" image");
        assertEquals(1, ids.length);
        assertEquals("\u0120image", tokenizer.token(ids[0]));
        assertEquals(ids[0], tokenizer.tokenId("\u0120image"));
    }

    @Test
    void absentTokenIsAnErrorNamingTheSource() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.tokenId("<|no_such_token|>"));
        assertTrue(e.getMessage().contains("tiny-tokenizer.json") && e.getMessage().contains("<|no_such_token|>"), e.getMessage());
        assertFalse(tokenizer.hasToken("<|no_such_token|>"));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.token(-1));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.token(1024));
    }

    @Test
    void vocabSizeCountsEveryId() {
        assertEquals(TinyTokenizer.VOCAB_SIZE, tokenizer.vocabSize());
    }

    @Test
    void concurrentEncodesGiveTheSerialResult() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) texts.add("caption " + i + ": a dog 🐕 runs<|im_end|> " + "x".repeat(i % 17));
        List<int[]> serial = texts.stream().map(tokenizer::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<int[]>> parallel = new ArrayList<>();
            for (String t : texts) parallel.add(pool.submit(() -> tokenizer.encode(t)));
            for (int i = 0; i < texts.size(); i++) assertArrayEquals(serial.get(i), parallel.get(i).get());
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void loadsAFileOrTheFolderHoldingIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.write(file, TinyTokenizer.tokenizerJson());
        try (Tokenizer fromFile = Tokenizer.load(file); Tokenizer fromFolder = Tokenizer.load(dir)) {
            assertEquals(file.toString(), fromFile.source());
            assertArrayEquals(tokenizer.encode("Describe this image."), fromFolder.encode("Describe this image."));
        }
    }

    @Test
    void missingFileIsAnErrorNamingIt(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer.json").toString()), e.getMessage());
    }

    @Test
    void malformedJsonIsAnErrorNamingTheSource() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.fromJson("{\"model\": ".getBytes(StandardCharsets.UTF_8), "broken.json"));
        assertTrue(e.getMessage().contains("broken.json"), e.getMessage());
        IllegalArgumentException noVocab = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.fromJson("{\"model\": {\"type\": \"BPE\"}}".getBytes(StandardCharsets.UTF_8), "empty.json"));
        assertTrue(noVocab.getMessage().contains("empty.json"), noVocab.getMessage());
    }

    @Test
    void closedTokenizerRefusesWorkAndClosesOnce() {
        Tokenizer own = Tokenizer.fromJson(TinyTokenizer.tokenizerJson(), "own");
        own.close();
        own.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> own.encode("x"));
        assertTrue(e.getMessage().contains("own"), e.getMessage());
    }

    @Test
    void djlIsKeptOffline() {
        // set by Tokenizer's class initialiser unless the environment chose otherwise
        Assumptions.assumeTrue(System.getenv("DJL_OFFLINE") == null && System.getenv("RUST_FLAVOR") == null);
        assertEquals("true", System.getProperty("ai.djl.offline"));
        assertEquals("cpu", System.getProperty("RUST_FLAVOR"));
    }

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
