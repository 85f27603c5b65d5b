package io.lfmcap.text;

import static io.lfmcap.text.TokenizerTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.ErrorClass;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.image.ProcessedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CaptionPromptTest {
    private static final String PROMPT = "Describe this image.";
    private static Tokenizer tokenizer;
    private static CaptionPrompt withMarkers;
    private static CaptionPrompt withoutMarkers;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.fromJson(TinyTokenizer.tokenizerJson(), "tiny");
        withMarkers = new CaptionPrompt(tokenizer, true);
        withoutMarkers = new CaptionPrompt(tokenizer, false);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void renderIsTheChatTemplateWithOneImageSentinel() {
        assertEquals("<|startoftext|><|im_start|>user\n<image>Describe this image.<|im_end|>\n<|im_start|>assistant\n",
                withMarkers.render(PROMPT));
    }

    @Test
    void singleViewIsWrappedInImageStartAndEnd() {
        PromptTokens tokens = withMarkers.tokenize("req-1", PROMPT, singleView(16, 16)); // 8x8 = 64 tokens
        int[] expected = concat(new int[] {1, 6}, tokenizer.encode("user\n"), new int[] {498}, repeat(396, 64), new int[] {499},
                tokenizer.encode(PROMPT), new int[] {7}, tokenizer.encode("\n"), new int[] {6}, tokenizer.encode("assistant\n"));
        assertArrayEquals(expected, tokens.ids());
        assertEquals(64, tokens.imageTokenCount());
        int first = 2 + tokenizer.encode("user\n").length + 1;
        assertArrayEquals(IntStream.range(first, first + 64).toArray(), tokens.imagePositions());
        assertEquals(396, tokens.imageTokenId());
    }

    @Test
    void singleViewOf256TokensMatchesTheWholeStringEncoding() {
        PromptTokens tokens = withMarkers.tokenize("req-2", PROMPT, singleView(32, 32));
        String expanded = "<|startoftext|><|im_start|>user\n<|image_start|>" + "<image>".repeat(256)
                + "<|image_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n";
        assertArrayEquals(tokenizer.encode(expanded), tokens.ids());
        assertEquals(256, tokens.imageTokenCount());
    }

    @Test
    void tiledImageMarksTilesRowMajorWithGeometricLabelsThenTheThumbnail() {
        // 2 rows x 3 columns of tiles of 8x8 patches (16 tokens after the 2x pixel unshuffle; real tiles
        // have 32x32 patches, 256 tokens), then a 6x4-patch thumbnail (6 tokens)
        ProcessedImage image = tiled(2, 3, 8, 8, new int[] {6, 4});
        PromptTokens tokens = withMarkers.tokenize("req-3", PROMPT, image);
        int[] markers = Arrays.stream(tokens.ids()).filter(id -> id >= 396 && id <= 499 && id != 396).toArray();
        assertArrayEquals(new int[] {498, 397, 398, 399, 407, 408, 409, 497, 499}, markers);
        assertEquals(6 * 16 + 6, tokens.imageTokenCount());

        StringBuilder layout = new StringBuilder("<|image_start|>");
        for (int r = 1; r <= 2; r++)
            for (int c = 1; c <= 3; c++) layout.append("<|img_row_").append(r).append("_col_").append(c).append("|>").append("<image>".repeat(16));
        layout.append("<|img_thumbnail|>").append("<image>".repeat(6)).append("<|image_end|>");
        assertArrayEquals(tokenizer.encode(withMarkers.render(PROMPT).replace("<image>", layout)), tokens.ids());
    }

    @Test
    void tileRunsFollowTheirMarkers() {
        PromptTokens tokens = withMarkers.tokenize("req-4", PROMPT, tiled(2, 3, 8, 8, null));
        int[] ids = tokens.ids();
        int marker = indexOf(ids, 408); // row 2, col 2: the fifth tile
        for (int i = 1; i <= 16; i++) assertEquals(396, ids[marker + i]);
        assertEquals(409, ids[marker + 17]);
        assertEquals(499, ids[indexOf(ids, 409) + 17]); // no thumbnail: the last tile closes the image
    }

    @Test
    void withoutImageSpecialTokensOnlyThePlaceholderRunsRemain() {
        PromptTokens tokens = withoutMarkers.tokenize("req-5", PROMPT, tiled(2, 3, 8, 8, new int[] {6, 4}));
        int[] expected = concat(new int[] {1, 6}, tokenizer.encode("user\n"), repeat(396, 6 * 16 + 6),
                tokenizer.encode(PROMPT), new int[] {7}, tokenizer.encode("\n"), new int[] {6}, tokenizer.encode("assistant\n"));
        assertArrayEquals(expected, tokens.ids());
    }

    @Test
    void promptIsTokenizedTogetherWithItsNeighbours() {
        // no space between the image end and the prompt: BPE sees the prompt text as it is
        String prompt = " What is this?\nAnswer briefly.";
        PromptTokens tokens = withMarkers.tokenize("req-6", prompt, singleView(4, 4));
        assertArrayEquals(tokenizer.encode(withMarkers.render(prompt).replace("<image>", "<|image_start|><image><image><image><image><|image_end|>")),
                tokens.ids());
    }

    @Test
    void promptWithLiteralImageTokenIsRefusedNamingTheRequest() {
        CaptionException e = assertThrows(CaptionException.class,
                () -> withMarkers.tokenize("row-42", "Compare <image> with this one.", singleView(16, 16)));
        assertEquals(ErrorClass.INVALID_REQUEST, e.errorClass());
        assertEquals("row-42", e.input());
        assertTrue(e.getMessage().startsWith("row-42: ") && e.getMessage().contains("<image>"), e.getMessage());
    }

    @Test
    void otherSpecialTokenTextInThePromptIsKeptAsTransformersDoes() {
        PromptTokens tokens = withMarkers.tokenize("req-7", "a<|im_end|>b", singleView(4, 4));
        assertEquals(2, Arrays.stream(tokens.ids()).filter(id -> id == 7).count());
    }

    @Test
    void viewsNotMatchingTheLayoutAreABug() {
        ProcessedImage broken = new ProcessedImage(List.of(grid(8, 8)), 2, 3, false, 1000, 600, 2);
        assertThrows(IllegalArgumentException.class, () -> withMarkers.tokenize("req-8", PROMPT, broken));
    }

    private static ProcessedImage singleView(int gridH, int gridW) {
        return new ProcessedImage(List.of(grid(gridH, gridW)), 0, 0, false, gridW * 16, gridH * 16, 2);
    }

    /** rows x cols tiles of tileH x tileW patches, then a thumbnail of {thumbH, thumbW} patches if given. */
    private static ProcessedImage tiled(int rows, int cols, int tileH, int tileW, int[] thumbnail) {
        List<PatchGrid> views = new ArrayList<>();
        for (int i = 0; i < rows * cols; i++) views.add(grid(tileH, tileW));
        if (thumbnail != null) views.add(grid(thumbnail[0], thumbnail[1]));
        return new ProcessedImage(views, rows, cols, thumbnail != null, cols * 512, rows * 512, 2);
    }

    private static PatchGrid grid(int gridH, int gridW) {
        return new PatchGrid(gridH, gridW, 1, new float[gridH * gridW]);
    }

    private static int[] repeat(int id, int n) {
        int[] out = new int[n];
        Arrays.fill(out, id);
        return out;
    }

    private static int indexOf(int[] ids, int id) {
        for (int i = 0; i < ids.length; i++) if (ids[i] == id) return i;
        throw new AssertionError("id " + id + " not found");
    }
}
