package io.lfmcap.image;

/**
 * One view of an image (a tile, a thumbnail or the whole resized image) cut into encoder patches:
 * {@code gridH x gridW} patches, row-major, each {@code patchDim} normalized values in (dy, dx, c)
 * order, exactly HF's {@code pixel_values} rows for this view without the padding rows
 * (docs/model-lfm2-vl.md section 2, steps 1-3).
 */
public record PatchGrid(int gridH, int gridW, int patchDim, float[] patches) {
    public PatchGrid {
        if ((long) gridH * gridW * patchDim != patches.length)
            throw new IllegalArgumentException("patch buffer has " + patches.length + " values, expected " + gridH + "x" + gridW + "x" + patchDim);
    }

    public int numPatches() { return gridH * gridW; }

    /** Image tokens this view yields after the projector's pixel unshuffle by {@code factor}. */
    public int numTokens(int factor) { return (gridH / factor) * (gridW / factor); }
}
