package io.lfmcap.text;

/**
 * The token ids of one captioning request, ready for the model: the chat-templated prompt with the
 * image expanded into its placeholder tokens.
 *
 * @param ids             {@code input_ids} as Lfm2VlProcessor produces them
 * @param imageTokenId    the id of {@code <image>} (396 in LFM2)
 * @param imagePositions  ascending indexes into {@code ids} holding {@code imageTokenId}, where the
 *                        image features go, in feature order (docs/model-lfm2-vl.md section 4)
 */
public record PromptTokens(int[] ids, int imageTokenId, int[] imagePositions) {

    /** Placeholder tokens: the image feature rows this prompt expects. */
    public int imageTokenCount() { return imagePositions.length; }

    public int length() { return ids.length; }
}
