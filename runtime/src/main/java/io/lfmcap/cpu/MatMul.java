package io.lfmcap.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code c[m, n] = sum_k a[m, k] * w[n, k]} (HF {@code F.linear}: x · W^T), optionally {@code + bias[n]} and
 * optionally added onto {@code c} (a fused residual add: {@code c = c + (x · W^T + bias)}).
 *
 * <p>Register-blocked kernels: up to {@value #ROW_BLOCK} activation rows x one weight panel ({@link
 * PackedMatrix#PANEL} outputs) per inner loop, so each weight load feeds up to 2 x {@value #ROW_BLOCK} FMAs;
 * a decode step with B sequences is the B-row case (the GEMV path: each weight is read once for all of
 * them). Every output is one sequential FMA chain over k, the same in every kernel, so a row's result does
 * not depend on which other rows share the call (batched decode is bit-identical to decoding each sequence
 * alone). Threads split the output panels.
 *
 * <p>The twelve kernels differ only in row count and weight type. They are spelled out because the Vector
 * API keeps accumulators in registers only in straight-line code, and their results leave through a small
 * tile array because a vector passed to a method that is not inlined is boxed on the heap.
 */
final class MatMul {
    static final int ROW_BLOCK = 6;
    private static final VectorSpecies<Float> F = PackedMatrix.FLOATS;
    private static final VectorSpecies<Short> BF16 = VectorSpecies.of(short.class, F.vectorShape());
    private static final int L = PackedMatrix.LANES;
    private static final int P = PackedMatrix.PANEL;
    /** Products with fewer multiply-adds than this run on the calling thread. */
    private static final long PARALLEL_MIN_MACS = 1L << 16;

    private MatMul() {}

    /** {@code c[m, w.rows] (+)= a[m, w.cols] · w^T (+ bias)}, all arrays dense row-major; threads split the panels. */
    static void multiply(Parallel parallel, float[] a, int m, PackedMatrix w, float[] bias, float[] c, boolean accumulate) {
        int panels = w.panels();
        if ((long) m * w.rows * w.cols < PARALLEL_MIN_MACS) {
            multiplyPanels(a, 0, w.cols, m, w.cols, w, bias, c, 0, w.rows, accumulate, 0, panels);
        } else {
            parallel.forRange(panels, (from, to) -> multiplyPanels(a, 0, w.cols, m, w.cols, w, bias, c, 0, w.rows, accumulate, from, to));
        }
    }

    /**
     * Single-threaded core: output panels {@code [panelFrom, panelTo)}, reduction over the first {@code kLen}
     * columns of {@code w}. Row r of a starts at {@code aOff + r * lda}, row r of c at {@code cOff + r * ldc};
     * only the {@code w.rows} real outputs are written.
     */
    static void multiplyPanels(float[] a, int aOff, int lda, int m, int kLen, PackedMatrix w, float[] bias,
                               float[] c, int cOff, int ldc, boolean accumulate, int panelFrom, int panelTo) {
        float[] tile = new float[ROW_BLOCK * P];
        for (int p = panelFrom; p < panelTo; p++) {
            int wo = w.offset + p * w.panelStride;
            int n0 = p * P;
            int valid = Math.min(P, w.rows - n0);
            for (int r = 0; r < m; r += ROW_BLOCK) {
                int rows = Math.min(ROW_BLOCK, m - r);
                if (w.bf16 != null) rowsBf16(rows, a, aOff + r * lda, lda, kLen, w.bf16, wo, w.kStride, tile);
                else rowsF32(rows, a, aOff + r * lda, lda, kLen, w.f32, wo, w.kStride, tile);
                writeBack(tile, rows, c, cOff + r * ldc + n0, ldc, valid, bias, n0, accumulate);
            }
        }
    }

    private static void rowsF32(int rows, float[] a, int a0, int lda, int kLen, float[] w, int wo, int ks, float[] tile) {
        switch (rows) {
            case 6 -> rows6F32(a, a0, lda, kLen, w, wo, ks, tile);
            case 5 -> rows5F32(a, a0, lda, kLen, w, wo, ks, tile);
            case 4 -> rows4F32(a, a0, lda, kLen, w, wo, ks, tile);
            case 3 -> rows3F32(a, a0, lda, kLen, w, wo, ks, tile);
            case 2 -> rows2F32(a, a0, lda, kLen, w, wo, ks, tile);
            default -> rows1F32(a, a0, kLen, w, wo, ks, tile);
        }
    }

    private static void rowsBf16(int rows, float[] a, int a0, int lda, int kLen, short[] w, int wo, int ks, float[] tile) {
        switch (rows) {
            case 6 -> rows6Bf16(a, a0, lda, kLen, w, wo, ks, tile);
            case 5 -> rows5Bf16(a, a0, lda, kLen, w, wo, ks, tile);
            case 4 -> rows4Bf16(a, a0, lda, kLen, w, wo, ks, tile);
            case 3 -> rows3Bf16(a, a0, lda, kLen, w, wo, ks, tile);
            case 2 -> rows2Bf16(a, a0, lda, kLen, w, wo, ks, tile);
            default -> rows1Bf16(a, a0, kLen, w, wo, ks, tile);
        }
    }

    /**
     * Writes a tile of {@code rows} x {@code PANEL} sums to c: {@code (c +) (sum + bias)}, only the first
     * {@code valid} outputs of each row. (The kernels leave their accumulators in the tile, so no vector
     * value crosses a call boundary, which would cost a heap box each.)
     */
    private static void writeBack(float[] tile, int rows, float[] c, int cOff, int ldc, int valid, float[] bias, int n0, boolean accumulate) {
        for (int r = 0; r < rows; r++) {
            int t = r * P;
            int o = cOff + r * ldc;
            for (int j = 0; j < valid; j += L) {
                FloatVector v = FloatVector.fromArray(F, tile, t + j);
                if (j + L <= valid) {
                    if (bias != null) v = v.add(FloatVector.fromArray(F, bias, n0 + j));
                    if (accumulate) v = FloatVector.fromArray(F, c, o + j).add(v);
                    v.intoArray(c, o + j);
                } else {
                    VectorMask<Float> m = F.indexInRange(j, valid);
                    if (bias != null) v = v.add(FloatVector.fromArray(F, bias, n0 + j, m));
                    if (accumulate) v = FloatVector.fromArray(F, c, o + j, m).add(v);
                    v.intoArray(c, o + j, m);
                }
            }
        }
    }

    private static void rows6F32(float[] a, int a0, int lda, int kLen, float[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        int a4 = a3 + lda;
        int a5 = a4 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a[a3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, a[a4 + k]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, a[a5 + k]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L);
        c31.intoArray(tile, 7 * L);
        c40.intoArray(tile, 8 * L);
        c41.intoArray(tile, 9 * L);
        c50.intoArray(tile, 10 * L);
        c51.intoArray(tile, 11 * L);
    }

    private static void rows5F32(float[] a, int a0, int lda, int kLen, float[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        int a4 = a3 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a[a3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, a[a4 + k]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L);
        c31.intoArray(tile, 7 * L);
        c40.intoArray(tile, 8 * L);
        c41.intoArray(tile, 9 * L);
    }

    private static void rows4F32(float[] a, int a0, int lda, int kLen, float[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a[a3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L);
        c31.intoArray(tile, 7 * L);
    }

    private static void rows3F32(float[] a, int a0, int lda, int kLen, float[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
    }

    private static void rows2F32(float[] a, int a0, int lda, int kLen, float[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero;
        int a1 = a0 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
    }

    private static void rows1F32(float[] a, int a0, int kLen, float[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero;
        for (int k = 0; k < kLen; k++, wo += ks) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
    }

    private static void rows6Bf16(float[] a, int a0, int lda, int kLen, short[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        int a4 = a3 + lda;
        int a5 = a4 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            IntVector pair = ShortVector.fromArray(BF16, w, wo).reinterpretAsInts();
            FloatVector w0 = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = pair.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a[a3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, a[a4 + k]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, a[a5 + k]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L);
        c31.intoArray(tile, 7 * L);
        c40.intoArray(tile, 8 * L);
        c41.intoArray(tile, 9 * L);
        c50.intoArray(tile, 10 * L);
        c51.intoArray(tile, 11 * L);
    }

    private static void rows5Bf16(float[] a, int a0, int lda, int kLen, short[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        int a4 = a3 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            IntVector pair = ShortVector.fromArray(BF16, w, wo).reinterpretAsInts();
            FloatVector w0 = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = pair.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a[a3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, a[a4 + k]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L);
        c31.intoArray(tile, 7 * L);
        c40.intoArray(tile, 8 * L);
        c41.intoArray(tile, 9 * L);
    }

    private static void rows4Bf16(float[] a, int a0, int lda, int kLen, short[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            IntVector pair = ShortVector.fromArray(BF16, w, wo).reinterpretAsInts();
            FloatVector w0 = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = pair.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a[a3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L);
        c31.intoArray(tile, 7 * L);
    }

    private static void rows3Bf16(float[] a, int a0, int lda, int kLen, short[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
        int a1 = a0 + lda;
        int a2 = a1 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            IntVector pair = ShortVector.fromArray(BF16, w, wo).reinterpretAsInts();
            FloatVector w0 = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = pair.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a[a2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L);
        c21.intoArray(tile, 5 * L);
    }

    private static void rows2Bf16(float[] a, int a0, int lda, int kLen, short[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero;
        int a1 = a0 + lda;
        for (int k = 0; k < kLen; k++, wo += ks) {
            IntVector pair = ShortVector.fromArray(BF16, w, wo).reinterpretAsInts();
            FloatVector w0 = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = pair.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a[a1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L);
        c11.intoArray(tile, 3 * L);
    }

    private static void rows1Bf16(float[] a, int a0, int kLen, short[] w, int wo, int ks, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c00 = zero, c01 = zero;
        for (int k = 0; k < kLen; k++, wo += ks) {
            IntVector pair = ShortVector.fromArray(BF16, w, wo).reinterpretAsInts();
            FloatVector w0 = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = pair.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector b = FloatVector.broadcast(F, a[a0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
    }
}
