package io.lfmcap.image;

/**
 * One view of an image (a tile, a thumbnail or the whole resized image) cut into encoder patches:
 * {@code gridH x gridW} patches, row-major, each {@code patchDim} normalized values in (dy, dx, c)
 * order, exactly HF's {@code pixel_values} rows for this view without the padding rows
 * (docs/model-lfm2-vl.md section 2, steps 1-3).
 *
 * <p>Two forms hold the same values:
 * <ul>
 *   <li>float form: the normalized values themselves (parity fixtures made from HF {@code pixel_values},
 *       tests);</li>
 *   <li>level form, what {@link ImageProcessor} produces: the uint8 pixel level of every value, same order,
 *       plus the per-channel float32 table the fused rescale + normalize maps a level through, so value
 *       {@code k} is {@code levelTable[(k % 3) * 256 + (levels[k] & 0xff)]}. A quarter of the bytes; the CUDA
 *       backend uploads the levels and expands them on the device.</li>
 * </ul>
 * {@link #patches()} gives the floats of either form. Arrays are shared, not copied: do not modify them.
 */
public final class PatchGrid {
    /** Entries of a level table: 256 levels of each of the 3 channels, channel-major. */
    public static final int LEVEL_TABLE_SIZE = 3 * 256;

    private final int gridH;
    private final int gridW;
    private final int patchDim;
    private final float[] patches;    // float form, else null
    private final byte[] levels;      // level form, else null
    private final float[] levelTable; // level form, else null

    /** The float form: {@code patches} holds {@code gridH * gridW * patchDim} normalized values. */
    public PatchGrid(int gridH, int gridW, int patchDim, float[] patches) {
        this(gridH, gridW, patchDim, patches.length, patches, null, null);
    }

    private PatchGrid(int gridH, int gridW, int patchDim, int length, float[] patches, byte[] levels, float[] levelTable) {
        if ((long) gridH * gridW * patchDim != length)
            throw new IllegalArgumentException("patch buffer has " + length + " values, expected " + gridH + "x" + gridW + "x" + patchDim);
        this.gridH = gridH;
        this.gridW = gridW;
        this.patchDim = patchDim;
        this.patches = patches;
        this.levels = levels;
        this.levelTable = levelTable;
    }

    /**
     * The level form: {@code levels} holds {@code gridH * gridW * patchDim} uint8 levels in patch order,
     * {@code levelTable} the {@value #LEVEL_TABLE_SIZE} values of channel {@code c}, level {@code v} at
     * {@code c * 256 + v}; {@code patchDim} is a multiple of 3 (whole pixels).
     */
    public static PatchGrid ofLevels(int gridH, int gridW, int patchDim, byte[] levels, float[] levelTable) {
        if (patchDim % 3 != 0) throw new IllegalArgumentException("patch length " + patchDim + " is not whole RGB pixels (a multiple of 3)");
        if (levelTable.length != LEVEL_TABLE_SIZE)
            throw new IllegalArgumentException("level table has " + levelTable.length + " values, expected " + LEVEL_TABLE_SIZE + " (3 channels x 256 levels)");
        return new PatchGrid(gridH, gridW, patchDim, levels.length, null, levels, levelTable);
    }

    public int gridH() { return gridH; }

    public int gridW() { return gridW; }

    public int patchDim() { return patchDim; }

    public int numPatches() { return gridH * gridW; }

    /** Image tokens this view yields after the projector's pixel unshuffle by {@code factor}. */
    public int numTokens(int factor) { return (gridH / factor) * (gridW / factor); }

    /**
     * The normalized values, {@code gridH * gridW * patchDim} floats in patch order. The float form returns
     * its array; the level form computes a new one on every call (3 MiB for a 1024-patch view, not kept:
     * a caller that reads it more than once holds on to the result).
     */
    public float[] patches() {
        if (patches != null) return patches;
        float[] out = new float[levels.length];
        float[] t = levelTable;
        for (int k = 0; k < out.length; k += 3) {
            out[k] = t[levels[k] & 0xff];
            out[k + 1] = t[256 + (levels[k + 1] & 0xff)];
            out[k + 2] = t[512 + (levels[k + 2] & 0xff)];
        }
        return out;
    }

    /** Bytes this view holds: its levels (level form) or its floats (float form). */
    public long bytes() { return levels != null ? levels.length : 4L * patches.length; }

    /** The uint8 levels of the level form (in patch order, as {@link #patches()}); null for the float form. */
    public byte[] levels() { return levels; }

    /** The level form's per-channel table ({@value #LEVEL_TABLE_SIZE} values, {@code c * 256 + level}); null for the float form. */
    public float[] levelTable() { return levelTable; }
}
