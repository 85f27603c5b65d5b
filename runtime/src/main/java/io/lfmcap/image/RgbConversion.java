package io.lfmcap.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;

/**
 * A decoded PNG, BMP or WebP image as 8-bit RGB, following what Pillow's {@code convert("RGB")}
 * does with the mode Pillow opens that file in:
 * <ul>
 * <li>palette (P, incl. 1/2/4-bit): palette colors; transparency (tRNS) ignored;
 * <li>grayscale (L, LA, 1-bit, 2/4-bit scaled x85 / x17): replicated to R, G, B;
 * <li>alpha (RGBA, LA, WebP alpha): dropped, the stored colors are kept. transformers'
 *     {@code convert_to_rgb} / {@code load_image} is plain {@code image.convert("RGB")}, no compositing
 *     onto white (image_transforms.py, 5.x); and {@code Lfm2VlImageProcessor} (TorchvisionBackend,
 *     {@code do_convert_rgb} unset) would not convert an RGBA PIL image at all and fails at normalize
 *     with 4 channels, so {@code convert("RGB")} is the only working path to match;
 * <li>16-bit PNG: RGB, RGBA and gray+alpha keep the high byte (Pillow rawmodes {@code RGB;16B},
 *     {@code RGBA;16B}, {@code LA;16B}); 16-bit gray opens as {@code I;16} and {@code I16_RGB} clips
 *     values above 255 to 255 (Pillow 10/11 Convert.c), so most such images turn white, as in PIL;
 * <li>other bit widths (16-bit BMP fields): {@code v * 255 / max}, integer division, as Pillow's
 *     {@code BGR;15} / {@code BGR;16} unpackers.
 * </ul>
 */
final class RgbConversion {
    private RgbConversion() {}

    static RgbImage toRgb(BufferedImage image, boolean sixteenBitGray) throws CorruptImageException {
        RasterRows rows = new RasterRows(image.getRaster());
        ColorModel cm = image.getColorModel();
        int w = rows.width(), h = rows.height();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        if (cm instanceof IndexColorModel palette) {
            fromPalette(rows, palette, out);
        } else {
            int colors = cm.getNumColorComponents();
            if (colors != 1 && colors != 3) throw new CorruptImageException("unsupported color model with " + colors + " color components");
            int[][] lut = new int[colors][];
            for (int c = 0; c < colors; c++) lut[c] = sampleToByte(rows.sampleBits(c), sixteenBitGray);
            int bands = rows.bands(), o = 0;
            for (int y = 0; y < h; y++) {
                int[] s = rows.row(y);
                for (int x = 0, i = 0; x < w; x++, i += bands) {
                    if (colors == 1) {
                        byte v = (byte) lut[0][s[i]];
                        out[o++] = v; out[o++] = v; out[o++] = v;
                    } else {
                        out[o++] = (byte) lut[0][s[i]];
                        out[o++] = (byte) lut[1][s[i + 1]];
                        out[o++] = (byte) lut[2][s[i + 2]];
                    }
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    private static void fromPalette(RasterRows rows, IndexColorModel palette, byte[] out) {
        int size = palette.getMapSize();
        int[] rgb = new int[256];
        for (int i = 0; i < 256; i++) rgb[i] = i < size ? palette.getRGB(i) : 0; // out-of-range index: black, as PIL's zeroed palette
        int o = 0;
        for (int y = 0; y < rows.height(); y++) {
            int[] s = rows.row(y);
            for (int x = 0; x < rows.width(); x++) {
                int c = rgb[s[x] & 0xff];
                out[o++] = (byte) (c >> 16);
                out[o++] = (byte) (c >> 8);
                out[o++] = (byte) c;
            }
        }
    }

    /** Lookup from a sample of {@code bits} bits to the 8-bit value Pillow produces. */
    private static int[] sampleToByte(int bits, boolean sixteenBitGray) throws CorruptImageException {
        if (bits < 1 || bits > 16) throw new CorruptImageException("unsupported sample size of " + bits + " bits");
        int max = (1 << bits) - 1;
        int[] lut = new int[max + 1];
        for (int v = 0; v <= max; v++) {
            if (bits == 16) lut[v] = sixteenBitGray ? Math.min(v, 255) : v >> 8;
            else if (bits > 8) lut[v] = v >> (bits - 8);
            else lut[v] = v * 255 / max;
        }
        return lut;
    }
}
