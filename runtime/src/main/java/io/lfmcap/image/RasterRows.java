package io.lfmcap.image;

import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;

/**
 * Reads a raster row by row as plain samples ({@code width * bands} ints, bands in color model order),
 * directly from the byte array for the common interleaved 8-bit layouts, through {@link Raster#getPixels}
 * otherwise.
 */
final class RasterRows {
    private final Raster raster;
    private final int width, bands;
    private final int[] row;
    private final byte[] bytes; // non-null on the fast path
    private final int offset, pixelStride, scanlineStride;
    private final int[] bandOffsets;

    RasterRows(Raster raster) {
        this.raster = raster;
        this.width = raster.getWidth();
        this.bands = raster.getNumBands();
        this.row = new int[width * bands];
        byte[] data = null;
        int off = 0, ps = 0, ss = 0;
        int[] bo = null;
        if (raster.getSampleModel() instanceof ComponentSampleModel sm && raster.getDataBuffer() instanceof DataBufferByte db
                && db.getNumBanks() == 1 && allZero(sm.getBankIndices())) {
            data = db.getData();
            ps = sm.getPixelStride();
            ss = sm.getScanlineStride();
            bo = sm.getBandOffsets();
            off = db.getOffset() - raster.getSampleModelTranslateY() * ss - raster.getSampleModelTranslateX() * ps;
        }
        this.bytes = data;
        this.offset = off;
        this.pixelStride = ps;
        this.scanlineStride = ss;
        this.bandOffsets = bo;
    }

    int width() { return width; }

    int height() { return raster.getHeight(); }

    int bands() { return bands; }

    /** Bits per sample of band {@code b} (8 for bytes, 16 for 16-bit PNG, 5 or 6 for 16-bit BMP fields). */
    int sampleBits(int b) { return raster.getSampleModel().getSampleSize(b); }

    /** Samples of row {@code y}; the returned array is reused by the next call. */
    int[] row(int y) {
        if (bytes == null) return raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
        int base = offset + y * scanlineStride;
        for (int x = 0, i = 0; x < width; x++, base += pixelStride)
            for (int b = 0; b < bands; b++) row[i++] = bytes[base + bandOffsets[b]] & 0xff;
        return row;
    }

    private static boolean allZero(int[] a) {
        for (int v : a) if (v != 0) return false;
        return true;
    }
}
