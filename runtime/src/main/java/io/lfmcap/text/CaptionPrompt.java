package io.lfmcap.text;

import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.ErrorClass;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.image.ProcessedImage;
import java.util.List;

/**
 * Builds the input ids of a captioning request exactly as transformers' chat template plus
 * {@code Lfm2VlProcessor} do (docs/model-lfm2-vl.md section 4): the template renders one user turn,
 * image first, then the instruction, with the generation prompt; the processor replaces the
 * {@code <image>} sentinel in that string by the image's token layout; the whole string is then
 * tokenized once with {@code add_special_tokens=False}, so BPE sees the same text boundaries as HF.
 */
public final class CaptionPrompt {
    private final Tokenizer tokenizer;
    private final boolean useImageSpecialTokens;
    private final int imageTokenId;

    /**
     * @param useImageSpecialTokens the processor's {@code use_image_special_tokens}: wrap the image in
     *                              {@code <|image_start|>}/{@code <|image_end|>} and mark tiles and the thumbnail
     */
    public CaptionPrompt(Tokenizer tokenizer, boolean useImageSpecialTokens) {
        this.tokenizer = tokenizer;
        this.useImageSpecialTokens = useImageSpecialTokens;
        this.imageTokenId = tokenizer.tokenId(Lfm2Tokens.IMAGE);
        for (String required : List.of(Lfm2Tokens.BOS, Lfm2Tokens.IM_START, Lfm2Tokens.IM_END)) tokenizer.tokenId(required);
        if (useImageSpecialTokens) {
            for (String required : List.of(Lfm2Tokens.IMAGE_START, Lfm2Tokens.IMAGE_END, Lfm2Tokens.IMAGE_THUMBNAIL)) tokenizer.tokenId(required);
            for (int r = 1; r <= Lfm2Tokens.MAX_TILE_MARKER; r++)
                for (int c = 1; c <= Lfm2Tokens.MAX_TILE_MARKER; c++) tokenizer.tokenId(Lfm2Tokens.tileMarker(r, c));
        }
    }

    /**
     * The chat string with the single {@code <image>} sentinel: what
     * {@code apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}],
     * add_generation_prompt=True)} renders (bos, {@code <|im_start|>user\n}, image, text verbatim,
     * {@code <|im_end|>\n<|im_start|>assistant\n}).
     */
    public String render(String prompt) {
        return Lfm2Tokens.BOS + Lfm2Tokens.IM_START + "user\n" + Lfm2Tokens.IMAGE + prompt
                + Lfm2Tokens.IM_END + "\n" + Lfm2Tokens.IM_START + "assistant\n";
    }

    /**
     * The ids of a request. A prompt holding the text {@code <image>} is refused: the tokenizer reads
     * it as a real placeholder token, as transformers does, which would then count one image too many.
     *
     * @throws CaptionException {@link ErrorClass#INVALID_REQUEST} naming {@code requestId} for such a prompt
     */
    public PromptTokens tokenize(String requestId, String prompt, ProcessedImage image) {
        if (prompt.contains(Lfm2Tokens.IMAGE))
            throw new CaptionException(ErrorClass.INVALID_REQUEST, requestId,
                    "the prompt contains the text \"" + Lfm2Tokens.IMAGE + "\", which the tokenizer reads as the image"
                            + " placeholder token, not as words (transformers would count an extra image and fail);"
                            + " remove it or write it differently, e.g. \"image\"");
        int[] ids = tokenizer.encode(expand(prompt, image));
        int[] positions = imagePositions(ids);
        if (positions.length != image.numImageTokens())
            throw new IllegalStateException("request " + requestId + ": prompt has " + positions.length + " image tokens, the image yields "
                    + image.numImageTokens() + " features (tokenizer " + tokenizer.source() + ")");
        return new PromptTokens(ids, imageTokenId, positions);
    }

    /** {@link #render} with the sentinel replaced by the image's layout (Lfm2VlProcessor.expand_text_with_placeholders). */
    String expand(String prompt, ProcessedImage image) {
        return render(prompt).replace(Lfm2Tokens.IMAGE, imageLayout(image));
    }

    /**
     * Lfm2VlProcessor._build_image_tokens: tiles row-major over the geometric grid, each after its
     * {@code <|img_row_R_col_C|>} marker, then the thumbnail; or the single view alone.
     */
    private String imageLayout(ProcessedImage image) {
        List<PatchGrid> views = image.views();
        int expectedViews = image.isTiled() ? image.tileRows() * image.tileCols() + (image.hasThumbnail() ? 1 : 0) : 1;
        if (views.size() != expectedViews)
            throw new IllegalArgumentException("processed image has " + views.size() + " views, its layout ("
                    + image.tileRows() + "x" + image.tileCols() + " tiles, thumbnail " + image.hasThumbnail() + ") needs " + expectedViews);
        StringBuilder sb = new StringBuilder();
        if (useImageSpecialTokens) sb.append(Lfm2Tokens.IMAGE_START);
        if (image.isTiled()) {
            int view = 0;
            for (int r = 1; r <= image.tileRows(); r++) {
                for (int c = 1; c <= image.tileCols(); c++) {
                    if (useImageSpecialTokens) sb.append(Lfm2Tokens.tileMarker(r, c));
                    appendPlaceholders(sb, views.get(view++), image.downsampleFactor());
                }
            }
            if (image.hasThumbnail()) {
                if (useImageSpecialTokens) sb.append(Lfm2Tokens.IMAGE_THUMBNAIL);
                appendPlaceholders(sb, views.get(view), image.downsampleFactor());
            }
        } else {
            appendPlaceholders(sb, views.get(0), image.downsampleFactor());
        }
        if (useImageSpecialTokens) sb.append(Lfm2Tokens.IMAGE_END);
        return sb.toString();
    }

    private static void appendPlaceholders(StringBuilder sb, PatchGrid view, int downsampleFactor) {
        sb.append(Lfm2Tokens.IMAGE.repeat(view.numTokens(downsampleFactor)));
    }

    private int[] imagePositions(int[] ids) {
        int count = 0;
        for (int id : ids) if (id == imageTokenId) count++;
        int[] positions = new int[count];
        for (int i = 0, n = 0; i < ids.length; i++) if (ids[i] == imageTokenId) positions[n++] = i;
        return positions;
    }
}
