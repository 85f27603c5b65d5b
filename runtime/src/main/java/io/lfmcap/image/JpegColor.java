package io.lfmcap.image;

import java.awt.image.Raster;

/**
 * Turns a JPEG's raw decoded components (upsampled, not color converted; ImageIO's {@code readRaster})
 * into RGB exactly as Pillow does: libjpeg's fixed-point YCbCr->RGB tables (jdcolor.c
 * build_ycc_rgb_table, bit-exact in libjpeg-turbo's SIMD paths), YCCK->CMYK, and for 4-component
 * images Pillow's rules: rawmode {@code CMYK;I} (every CMYK JPEG is inverted, "assume adobe
 * conventions") followed by {@code cmyk2rgb} (Convert.c). Embedded ICC profiles are ignored, as PIL
 * ignores them (ImageIO would color-manage them). Verified equal to Pillow 9.4 (libjpeg-turbo) on
 * YCbCr, ICC-tagged, grayscale, Adobe CMYK and Adobe YCCK files.
 */
final class JpegColor {
    private static final int SCALEBITS = 16, ONE_HALF = 1 << (SCALEBITS - 1);
    private static final int[] CR_R = new int[256], CB_B = new int[256], CR_G = new int[256], CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            long x = i - 128;
            CR_R[i] = (int) ((fix(1.40200) * x + ONE_HALF) >> SCALEBITS);
            CB_B[i] = (int) ((fix(1.77200) * x + ONE_HALF) >> SCALEBITS);
            CR_G[i] = (int) (-fix(0.71414) * x);
            CB_G[i] = (int) (-fix(0.34414) * x + ONE_HALF);
        }
    }

    private JpegColor() {}

    static RgbImage toRgb(Raster raster, JpegColorSpace space) throws CorruptImageException {
        RasterRows rows = new RasterRows(raster);
        if (rows.bands() != space.components)
            throw new CorruptImageException("JPEG decoder returned " + rows.bands() + " components for a " + space + " image");
        int w = rows.width(), h = rows.height();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int o = 0;
        for (int y = 0; y < h; y++) {
            int[] s = rows.row(y);
            for (int x = 0, i = 0; x < w; x++) {
                int r, g, b;
                switch (space) {
                    case GRAY -> { r = g = b = s[i++]; }
                    case RGB -> { r = s[i++]; g = s[i++]; b = s[i++]; }
                    case YCBCR -> {
                        int yy = s[i++], cb = s[i++], cr = s[i++];
                        r = clamp(yy + CR_R[cr]);
                        g = clamp(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                        b = clamp(yy + CB_B[cb]);
                    }
                    case CMYK -> {
                        int c = s[i++], m = s[i++], ye = s[i++], k = s[i++];
                        r = cmykToRgb(c, k); g = cmykToRgb(m, k); b = cmykToRgb(ye, k);
                    }
                    default -> { // YCCK: libjpeg ycck_cmyk_convert (CMY = 255 - YCC->RGB, K passes through)
                        int yy = s[i++], cb = s[i++], cr = s[i++], k = s[i++];
                        int c = 255 - clamp(yy + CR_R[cr]);
                        int m = 255 - clamp(yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                        int ye = 255 - clamp(yy + CB_B[cb]);
                        r = cmykToRgb(c, k); g = cmykToRgb(m, k); b = cmykToRgb(ye, k);
                    }
                }
                out[o++] = (byte) r;
                out[o++] = (byte) g;
                out[o++] = (byte) b;
            }
        }
        return new RgbImage(w, h, out);
    }

    /**
     * One channel of Pillow's cmyk2rgb on the inverted ({@code CMYK;I}) samples: with C = 255 - c and
     * K = 255 - k, {@code CLIP8(nk - MULDIV255(C, nk))} where nk = 255 - K = k.
     */
    static int cmykToRgb(int rawChannel, int rawK) {
        int t = (255 - rawChannel) * rawK + 128;
        return clamp(rawK - (((t >> 8) + t) >> 8));
    }

    private static long fix(double x) { return (long) (x * (1L << SCALEBITS) + 0.5); }

    private static int clamp(int v) { return v < 0 ? 0 : Math.min(v, 255); }
}
