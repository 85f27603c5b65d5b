package io.lfmcap.image;

import java.util.Arrays;

/**
 * Pillow's antialiased bilinear resize of an 8-bit RGB image, bit for bit: {@code Image.resize(size,
 * BILINEAR)} -> {@code ImagingResample} (src/libImaging/Resample.c). The reference for torchvision's
 * uint8 antialiased bilinear {@code resize}, which transformers' {@code Lfm2VlImageProcessor} uses and
 * which was written to match it (docs/model-lfm2-vl.md section 6; torch builds may differ by 1 LSB).
 *
 * <p>Algorithm, per axis ({@code precompute_coeffs}): scale = in/out, filterscale = max(scale, 1),
 * support = 1.0 * filterscale (triangle filter); for output o, center = (o + 0.5) * scale, source
 * window [trunc(center - support + 0.5) clamped to 0, trunc(center + support + 0.5) clamped to in),
 * weights {@code tri((j - center + 0.5) / filterscale)} normalised to sum 1, then fixed point with
 * {@link #PRECISION_BITS} = 22 fraction bits rounded half away from zero ({@code normalize_coeffs_8bpc}).
 * Horizontal pass first, only over the source rows the vertical pass reads ({@code ybox}), into an
 * 8-bit buffer; then the vertical pass. Each output sample: accumulator starting at 1 << 21, plus
 * sample * weight, shifted right 22 and clamped to 0..255 ({@code clip8}). A pass runs only if its
 * axis changes size; same size in and out returns the image itself (no one writes an image's pixels after decoding,
 * and at large batches a copy per image is garbage the engine's collector has to keep up with).
 */
public final class PilResize {
    /** Pillow's {@code PRECISION_BITS = 32 - 8 - 2}. */
    public static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private PilResize() {}

    /** {@code image} resized to {@code width x height} as Pillow's {@code resize((width, height), BILINEAR)}. */
    public static RgbImage resize(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
        int inW = image.width(), inH = image.height();
        if (width == inW && height == inH) return image;

        Coefficients vertical = Coefficients.bilinear(inH, height);
        byte[] src = image.pixels();
        int rows = inH, rowOffset = 0;
        if (width != inW) {
            int first = vertical.start[0];
            int last = vertical.start[height - 1] + vertical.count[height - 1];
            src = horizontal(src, inW, first, last - first, Coefficients.bilinear(inW, width));
            rows = last - first;
            rowOffset = first; // the vertical bounds index the cropped buffer
        }
        if (height != inH) src = vertical(src, width, rows, rowOffset, vertical);
        return new RgbImage(width, height, src);
    }

    /** {@code ImagingResampleHorizontal_8bpc}: rows [firstRow, firstRow + rows) of a {@code inW}-wide image. */
    private static byte[] horizontal(byte[] in, int inW, int firstRow, int rows, Coefficients k) {
        int outW = k.start.length, taps = k.taps;
        byte[] out = new byte[outW * rows * 3];
        int[] weights = k.weights;
        for (int y = 0; y < rows; y++) {
            int inRow = (firstRow + y) * inW * 3, outRow = y * outW * 3;
            for (int x = 0; x < outW; x++) {
                int start = k.start[x], count = k.count[x], kw = x * taps;
                int r = HALF, g = HALF, b = HALF;
                for (int t = 0, p = inRow + start * 3; t < count; t++, p += 3) {
                    int wgt = weights[kw + t];
                    r += (in[p] & 0xff) * wgt;
                    g += (in[p + 1] & 0xff) * wgt;
                    b += (in[p + 2] & 0xff) * wgt;
                }
                int o = outRow + x * 3;
                out[o] = clip8(r);
                out[o + 1] = clip8(g);
                out[o + 2] = clip8(b);
            }
        }
        return out;
    }

    /** {@code ImagingResampleVertical_8bpc}; source row of output y is k.start[y] - rowOffset + t. */
    private static byte[] vertical(byte[] in, int width, int inRows, int rowOffset, Coefficients k) {
        int outH = k.start.length, taps = k.taps, rowLen = width * 3;
        byte[] out = new byte[outH * rowLen];
        int[] acc = new int[rowLen];
        for (int y = 0; y < outH; y++) {
            Arrays.fill(acc, HALF);
            int start = k.start[y] - rowOffset, count = k.count[y], kw = y * taps;
            for (int t = 0; t < count; t++) {
                int wgt = k.weights[kw + t], p = (start + t) * rowLen;
                for (int i = 0; i < rowLen; i++) acc[i] += (in[p + i] & 0xff) * wgt;
            }
            int o = y * rowLen;
            for (int i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]);
        }
        return out;
    }

    /** Pillow's {@code clip8}: the accumulator's integer part clamped to 0..255. */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /**
     * One axis of {@code precompute_coeffs} + {@code normalize_coeffs_8bpc} for the bilinear filter:
     * for output i, {@code count[i]} fixed-point weights at {@code weights[i * taps ...]} over source
     * samples {@code start[i] ...}.
     */
    record Coefficients(int[] start, int[] count, int taps, int[] weights) {

        static Coefficients bilinear(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = 1.0 * filterScale; // BILINEAR support 1.0
            int taps = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[outSize], count = new int[outSize], weights = new int[outSize * taps];
            double[] normalized = new double[taps];
            double ss = 1.0 / filterScale;
            for (int o = 0; o < outSize; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max((int) (center - support + 0.5), 0); // C (int) truncates toward zero, as Java's cast
                int hi = Math.min((int) (center + support + 0.5), inSize);
                int n = hi - lo;
                double sum = 0.0;
                for (int t = 0; t < n; t++) {
                    double w = triangle((t + lo - center + 0.5) * ss);
                    normalized[t] = w;
                    sum += w;
                }
                for (int t = 0; t < n; t++) {
                    if (sum != 0.0) normalized[t] /= sum;
                    double k = normalized[t];
                    weights[o * taps + t] = k < 0 ? (int) (-0.5 + k * (1 << PRECISION_BITS)) : (int) (0.5 + k * (1 << PRECISION_BITS));
                }
                start[o] = lo;
                count[o] = n;
            }
            return new Coefficients(start, count, taps, weights);
        }

        private static double triangle(double x) {
            if (x < 0.0) x = -x;
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    }
}
