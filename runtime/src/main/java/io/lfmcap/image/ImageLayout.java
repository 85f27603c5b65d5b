package io.lfmcap.image;

/**
 * The views HF's {@code Lfm2VlImageProcessor.resize_and_split} makes of one image, before any pixel
 * work: either a grid of {@code tileCols x tileRows} square tiles (row-major) optionally followed by a
 * thumbnail, or one single view. (docs/model-lfm2-vl.md section 6.)
 *
 * @param tileCols grid columns (gw); 0 when the image is not tiled
 * @param tileRows grid rows (gh); 0 when the image is not tiled
 * @param tileSize tile side in pixels
 * @param resizedWidth width of the single view, or of the thumbnail of a tiled image (smart resize)
 * @param resizedHeight height of the single view or thumbnail
 * @param thumbnail whether a tiled image gets a thumbnail view after its tiles
 */
public record ImageLayout(int tileCols, int tileRows, int tileSize, int resizedWidth, int resizedHeight, boolean thumbnail) {

    public boolean isTiled() { return tileCols > 0; }

    /** Views in HF order: tiles, then the thumbnail; or the one single view. */
    public int numViews() { return isTiled() ? tileCols * tileRows + (thumbnail ? 1 : 0) : 1; }

    /** {@code <image>} placeholders over all views for encoder patch size {@code patch} and pixel-unshuffle factor {@code factor}. */
    public int numImageTokens(int patch, int factor) {
        int resized = (resizedHeight / patch / factor) * (resizedWidth / patch / factor);
        if (!isTiled()) return resized;
        int perTile = (tileSize / patch / factor) * (tileSize / patch / factor);
        return tileCols * tileRows * perTile + (thumbnail ? resized : 0);
    }
}
