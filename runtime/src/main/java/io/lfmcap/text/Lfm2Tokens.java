package io.lfmcap.text;

/**
 * The texts of the LFM2 / LFM2-VL special tokens the prompt layout uses (docs/model-lfm2-vl.md
 * section 1.5). Ids are always looked up in the loaded tokenizer by these texts, never assumed.
 */
public final class Lfm2Tokens {
    /** {@code bos_token} of the chat template (id 1 in LFM2). */
    public static final String BOS = "<|startoftext|>";
    public static final String EOS = "<|endoftext|>";
    public static final String PAD = "<|pad|>";
    public static final String IM_START = "<|im_start|>";
    /** End of a chat turn; generation stops here (id 7 in LFM2). */
    public static final String IM_END = "<|im_end|>";
    /** The image placeholder whose positions receive the projected image features (id 396). */
    public static final String IMAGE = "<image>";
    public static final String IMAGE_START = "<|image_start|>";
    public static final String IMAGE_END = "<|image_end|>";
    public static final String IMAGE_THUMBNAIL = "<|img_thumbnail|>";
    /** Unused by the processor but present in the vocabulary (id 500). */
    public static final String IMAGE_SPLIT = "<|image_split|>";
    /** Largest tile row / column a marker exists for ({@code <|img_row_10_col_10|>}). */
    public static final int MAX_TILE_MARKER = 10;

    private Lfm2Tokens() {}

    /** The marker before tile (row, col), both 1-based geometric (transformers >= 5 labels). */
    public static String tileMarker(int row, int col) {
        if (row < 1 || row > MAX_TILE_MARKER || col < 1 || col > MAX_TILE_MARKER)
            throw new IllegalArgumentException("tile marker row/col must be in 1.." + MAX_TILE_MARKER + ", got " + row + "," + col);
        return "<|img_row_" + row + "_col_" + col + "|>";
    }
}
