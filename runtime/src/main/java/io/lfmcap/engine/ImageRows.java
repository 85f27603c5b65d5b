package io.lfmcap.engine;

/** The image-feature merge of HF {@code Lfm2VlModel}: {@code inputs_embeds.masked_scatter(input_ids == image_token_id, image_features)}. */
final class ImageRows {
    private ImageRows() {}

    /**
     * Writes the rows of {@code image} ({@code [rows, hidden]}), in order, over the rows of {@code embeddings}
     * whose id is {@code imageTokenId}; returns {@code embeddings}.
     *
     * @throws IllegalArgumentException when the placeholder count differs from the image rows
     */
    static float[] merge(int[] ids, float[] embeddings, float[] image, int hidden, int imageTokenId) {
        int rows = image.length / hidden;
        int placeholders = 0;
        for (int id : ids) if (id == imageTokenId) placeholders++;
        if (placeholders != rows)
            throw new IllegalArgumentException("prompt has " + placeholders + " image tokens but the vision encoder produced " + rows + " feature rows");
        int row = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != imageTokenId) continue;
            System.arraycopy(image, row * hidden, embeddings, i * hidden, hidden);
            row++;
        }
        return embeddings;
    }
}
