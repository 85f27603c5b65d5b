package io.lfmcap.image;

import java.util.List;

/**
 * An image ready for the vision encoder: its views in HF order (tiles row-major, then the thumbnail;
 * or one single view), and the tile grid the prompt layout needs (docs/model-lfm2-vl.md sections 4, 6).
 *
 * @param tileRows geometric tile rows (gh); 0 when the image was not split
 * @param tileCols geometric tile columns (gw); 0 when the image was not split
 * @param hasThumbnail whether the last view is a thumbnail after the tiles
 */
public record ProcessedImage(List<PatchGrid> views, int tileRows, int tileCols, boolean hasThumbnail,
                             int originalWidth, int originalHeight, int downsampleFactor) {

    public boolean isTiled() { return tileRows > 0; }

    /** Image tokens ({@code <image>} placeholders) over all views. */
    public int numImageTokens() {
        int n = 0;
        for (PatchGrid v : views) n += v.numTokens(downsampleFactor);
        return n;
    }
}
