package io.lfmcap.image;

/**
 * Normalises a resized view and cuts it into encoder patches (docs/model-lfm2-vl.md section 2, steps
 * 1-2; HF {@code convert_image_to_patches}): patch n = py * gridW + px, row-major; element
 * k = (dy * P + dx) * 3 + c holds channel c at (py * P + dy, px * P + dx).
 *
 * <p>Normalisation as the TorchvisionBackend computes it: rescale and normalise fused into
 * mean' = mean / rescale and std' = std / rescale in float32 ({@code _fuse_mean_std_and_rescale_factor}:
 * a float32 tensor times a Python float), then {@code (float(u8) - mean') / std'} in float32 (two
 * rounded float ops, {@code tvF.normalize}). With the defaults (0.5, 1/255) this is exactly
 * {@code (u8 - 127.5f) / 127.5f}. Every value depends only on its uint8 level and channel, so the grid
 * keeps the levels in patch order and that function as a table ({@link PatchGrid#ofLevels}), one table
 * shared by every view this patchifier cuts.
 */
final class Patchifier {
    private final int patch;
    private final float[] levelTable = new float[PatchGrid.LEVEL_TABLE_SIZE];

    Patchifier(int patch, double[] mean, double[] std, double rescaleFactor) {
        this.patch = patch;
        float scale = (float) (1.0 / rescaleFactor);
        for (int c = 0; c < 3; c++) {
            float m = (float) mean[c] * scale, s = (float) std[c] * scale;
            for (int v = 0; v < 256; v++) levelTable[c * 256 + v] = ((float) v - m) / s;
        }
    }

    PatchGrid patchify(RgbImage view) {
        int w = view.width(), h = view.height(), p = patch;
        if (w % p != 0 || h % p != 0) throw new IllegalArgumentException("view " + w + "x" + h + " is not a multiple of the patch size " + p);
        int gridW = w / p, gridH = h / p, dim = p * p * 3;
        byte[] out = new byte[gridW * gridH * dim];
        byte[] pixels = view.pixels();
        // a patch row (dx = 0..P-1, all channels) is contiguous in both the image and the patch
        for (int y = 0; y < h; y++) {
            int py = y / p, dy = y % p;
            for (int px = 0; px < gridW; px++)
                System.arraycopy(pixels, (y * w + px * p) * 3, out, ((py * gridW + px) * p * p + dy * p) * 3, p * 3);
        }
        return PatchGrid.ofLevels(gridH, gridW, dim, out, levelTable);
    }
}
