package io.lfmcap.cpu;

import io.lfmcap.model.DType;
import io.lfmcap.model.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A matrix {@code [rows, cols]} (a Linear weight {@code [out, in]}, or an attention K/V cache seen as one)
 * laid out for {@link MatMul}: rows are grouped into panels of {@link #PANEL} (two float vectors), and a
 * panel stores, for each column k, its {@code PANEL} row values side by side. The kernels then broadcast one
 * activation and FMA it into {@code PANEL} outputs per weight load, with no horizontal sums.
 *
 * <p>Element {@code (n, k)} lives at {@code offset + (n / PANEL) * panelStride + k * kStride + slot(n % PANEL)},
 * with {@code slot(j) = j} for fp32.
 * Weights use {@code kStride = PANEL}, {@code panelStride = cols * PANEL}; caches use other strides (see
 * {@link KvCache}). Storage is fp32 ({@link #f32}) or bf16 bits ({@link #bf16}, widened exactly inside the
 * kernel). A bf16 panel interleaves its two halves (slot(j) = 2j for j &lt; LANES, 2(j - LANES) + 1 after) so
 * one 32-bit lane holds rows j and j + LANES: shifting left by 16 gives row j as fp32, masking the low half
 * gives row j + LANES.
 */
final class PackedMatrix {
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    static final int LANES = FLOATS.length();
    static final int PANEL = 2 * LANES;

    final int rows;
    final int cols;
    /** fp32 storage, or null when {@link #bf16} holds the data. */
    final float[] f32;
    /** bf16 bit patterns, or null when {@link #f32} holds the data. */
    final short[] bf16;
    final int offset;
    final int panelStride;
    final int kStride;

    private PackedMatrix(int rows, int cols, float[] f32, short[] bf16, int offset, int panelStride, int kStride) {
        this.rows = rows;
        this.cols = cols;
        this.f32 = f32;
        this.bf16 = bf16;
        this.offset = offset;
        this.panelStride = panelStride;
        this.kStride = kStride;
    }

    /** A view over fp32 data already in panel layout (attention caches, packed keys). */
    static PackedMatrix view(float[] data, int offset, int panelStride, int kStride, int rows, int cols) {
        return new PackedMatrix(rows, cols, data, null, offset, panelStride, kStride);
    }

    /** Packs a row-major fp32 matrix {@code [rows, cols]} starting at {@code srcOff} with row stride {@code ld}. */
    static PackedMatrix packRows(float[] src, int srcOff, int ld, int rows, int cols) {
        float[] data = new float[panels(rows) * cols * PANEL];
        for (int n = 0; n < rows; n++) {
            int base = (n / PANEL) * cols * PANEL + n % PANEL;
            int s = srcOff + n * ld;
            for (int k = 0; k < cols; k++) data[base + k * PANEL] = src[s + k];
        }
        return new PackedMatrix(rows, cols, data, null, 0, cols * PANEL, PANEL);
    }

    /** Packs a row-major bf16 matrix given as bit patterns (tests and loading). */
    static PackedMatrix packBf16Rows(short[] src, int rows, int cols) {
        short[] data = new short[panels(rows) * cols * PANEL];
        for (int n = 0; n < rows; n++) {
            int base = (n / PANEL) * cols * PANEL + bf16Slot(n % PANEL);
            for (int k = 0; k < cols; k++) data[base + k * PANEL] = src[n * cols + k];
        }
        return new PackedMatrix(rows, cols, null, data, 0, cols * PANEL, PANEL);
    }

    /**
     * Reads a 2-D tensor {@code [rows, cols]}: bf16 stays bf16 (as bits), f32 and f16 become fp32 (f16 widened
     * exactly). Panels are packed in parallel straight from the tensor's bytes.
     */
    static PackedMatrix load(Tensor t, int rows, int cols, Parallel parallel) {
        long needed = (long) panels(rows) * cols * PANEL;
        if (needed > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("tensor '" + t.name() + "' " + Tensor.shapeString(t.shape())
                    + " is too large for the CPU backend (a Java array holds under 2^31 elements)");
        DType dtype = t.dtype();
        int bytes = dtype.bytes();
        float[] f32 = dtype == DType.BF16 ? null : new float[(int) needed];
        short[] bf16 = dtype == DType.BF16 ? new short[(int) needed] : null;
        parallel.forRange(panels(rows), (from, to) -> {
            for (int p = from; p < to; p++) {
                int n0 = p * PANEL;
                int n1 = Math.min(rows, n0 + PANEL);
                ByteBuffer buf = t.rawBytes((long) n0 * cols * bytes, (n1 - n0) * cols * bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
                int base = p * cols * PANEL;
                for (int n = n0; n < n1; n++) {
                    int j = n - n0;
                    int src = j * cols;
                    if (dtype == DType.BF16) {
                        int dst = base + bf16Slot(j);
                        for (int k = 0; k < cols; k++) bf16[dst + k * PANEL] = buf.getShort((src + k) * 2);
                    } else if (dtype == DType.F16) {
                        for (int k = 0; k < cols; k++) f32[base + j + k * PANEL] = halfToFloat(buf.getShort((src + k) * 2));
                    } else {
                        for (int k = 0; k < cols; k++) f32[base + j + k * PANEL] = buf.getFloat((src + k) * 4);
                    }
                }
            }
        });
        return new PackedMatrix(rows, cols, f32, bf16, 0, cols * PANEL, PANEL);
    }

    static int panels(int rows) { return Parallel.ceilDiv(rows, PANEL); }

    int panels() { return panels(rows); }

    boolean isBf16() { return bf16 != null; }

    /** Copies row {@code n} (widened to fp32) into {@code dst[dstOff .. dstOff + cols)}. */
    void row(int n, float[] dst, int dstOff) {
        int base = offset + (n / PANEL) * panelStride;
        int j = n % PANEL;
        if (bf16 != null) {
            base += bf16Slot(j);
            for (int k = 0; k < cols; k++) dst[dstOff + k] = bf16ToFloat(bf16[base + k * kStride]);
        } else {
            base += j;
            for (int k = 0; k < cols; k++) dst[dstOff + k] = f32[base + k * kStride];
        }
    }

    /** Bytes held in memory by this matrix's storage. */
    long bytes() { return bf16 != null ? 2L * bf16.length : 4L * f32.length; }

    /** Position of panel row j inside a bf16 panel column (see the class comment). */
    static int bf16Slot(int j) { return j < LANES ? 2 * j : 2 * (j - LANES) + 1; }

    static float bf16ToFloat(short bits) { return Float.intBitsToFloat(bits << 16); }

    /** IEEE binary16 to fp32, exact (subnormals, infinities and NaN included). */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        if (exp != 0) return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
        float magnitude = mant * 0x1p-24f;
        return sign != 0 ? -magnitude : magnitude;
    }
}
