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
 * {@code (u8 - 127.5f) / 127.5f}.
 */
final class Patchifier {
    private final int patch;
    private final float[][] lut = new float[3][256];

    Patchifier(int patch, double[] mean, double[] std, double rescaleFactor) {
        this.patch = patch;
        float scale = (float) (1.0 / rescaleFactor);
        for (int c = 0; c < 3; c++) {
            float m = (float) mean[c] * scale, s = (float) std[c] * scale;
            for (int v = 0; v < 256; v++) lut[c][v] = ((float) v - m) / s;
        }
    }

    PatchGrid patchify(RgbImage view) {
        int w = view.width(), h = view.height(), p = patch;
        if (w % p != 0 || h % p != 0) throw new IllegalArgumentException("view " + w + "x" + h + " is not a multiple of the patch size " + p);
        int gridW = w / p, gridH = h / p, dim = p * p * 3;
        float[] out = new float[gridW * gridH * dim];
        byte[] px = view.pixels();
        for (int y = 0; y < h; y++) {
            int py = y / p, dy = y % p;
            for (int x = 0; x < w; x++) {
                int src = (y * w + x) * 3;
                int dst = ((py * gridW + x / p) * p * p + dy * p + x % p) * 3;
                out[dst] = lut[0][px[src] & 0xff];
                out[dst + 1] = lut[1][px[src + 1] & 0xff];
                out[dst + 2] = lut[2][px[src + 2] & 0xff];
            }
        }
        return new PatchGrid(gridH, gridW, dim, out);
    }
}
