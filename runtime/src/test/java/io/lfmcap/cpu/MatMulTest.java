package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MatMulTest {
    private static Parallel parallel;

    @BeforeAll
    static void start() { parallel = new Parallel(2); }

    @AfterAll
    static void stop() { parallel.close(); }

    /** Naive double product with bias, and the per-element error bound scale sum_k |a w|. */
    private static double[][] naive(float[] a, int m, float[] w, int n, int k, float[] bias) {
        double[] c = new double[m * n];
        double[] mag = new double[m * n];
        for (int r = 0; r < m; r++)
            for (int o = 0; o < n; o++) {
                double s = 0;
                double g = 0;
                for (int i = 0; i < k; i++) {
                    s += (double) a[r * k + i] * w[o * k + i];
                    g += Math.abs((double) a[r * k + i] * w[o * k + i]);
                }
                c[r * n + o] = s + (bias == null ? 0 : bias[o]);
                mag[r * n + o] = g + (bias == null ? 0 : Math.abs(bias[o]));
            }
        return new double[][] {c, mag};
    }

    /** |got - want| <= 1e-6 * sum_k |a_k w_k| element by element (fp32 with k <= 100 stays well inside). */
    private static void assertWithinRoundoff(double[][] want, float[] got) {
        for (int i = 0; i < got.length; i++)
            assertTrue(Math.abs(got[i] - want[0][i]) <= 1e-6 * want[1][i] + 1e-30,
                    "element " + i + ": expected " + want[0][i] + " got " + got[i]);
    }

    private static float[] bf16Rounded(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = PackedMatrix.bf16ToFloat(InMemoryWeights.toBf16(v[i]));
        return r;
    }

    private static short[] bf16Bits(float[] v) {
        short[] r = new short[v.length];
        for (int i = 0; i < v.length; i++) r[i] = InMemoryWeights.toBf16(v[i]);
        return r;
    }

    @Test
    void f32WeightsMatchNaiveProductForOddShapes() {
        Random rnd = new Random(1);
        int n = 71;
        int k = 37;
        float[] w = TinyModel.uniform(rnd, n * k, 1);
        PackedMatrix pw = PackedMatrix.packRows(w, 0, k, n, k);
        for (int m : new int[] {1, 2, 3, 4, 5, 6, 7, 13}) {
            float[] a = TinyModel.uniform(rnd, m * k, 1);
            float[] c = new float[m * n];
            MatMul.multiply(parallel, a, m, pw, null, c, false);
            assertWithinRoundoff(naive(a, m, w, n, k, null), c);
        }
    }

    @Test
    void bf16WeightsMatchNaiveProductOfTheirWidenedValues() {
        Random rnd = new Random(2);
        int n = 45;
        int k = 99;
        int m = 8;
        float[] w = TinyModel.uniform(rnd, n * k, 1);
        float[] a = TinyModel.uniform(rnd, m * k, 1);
        float[] c = new float[m * n];
        MatMul.multiply(parallel, a, m, PackedMatrix.packBf16Rows(bf16Bits(w), n, k), null, c, false);
        assertWithinRoundoff(naive(a, m, bf16Rounded(w), n, k, null), c);
    }

    @Test
    void bf16WeightsGiveBitIdenticalResultsToTheirWidenedF32Copy() {
        Random rnd = new Random(3);
        int n = 100;
        int k = 64;
        int m = 9;
        float[] w = TinyModel.uniform(rnd, n * k, 1);
        float[] a = TinyModel.uniform(rnd, m * k, 1);
        float[] viaBf16 = new float[m * n];
        float[] viaF32 = new float[m * n];
        MatMul.multiply(parallel, a, m, PackedMatrix.packBf16Rows(bf16Bits(w), n, k), null, viaBf16, false);
        MatMul.multiply(parallel, a, m, PackedMatrix.packRows(bf16Rounded(w), 0, k, n, k), null, viaF32, false);
        assertArrayEquals(viaF32, viaBf16);
    }

    @Test
    void biasIsAddedAndResultIsAccumulatedOntoTheOutput() {
        Random rnd = new Random(4);
        int n = 33;
        int k = 20;
        int m = 7;
        float[] w = TinyModel.uniform(rnd, n * k, 1);
        float[] a = TinyModel.uniform(rnd, m * k, 1);
        float[] bias = TinyModel.uniform(rnd, n, 1);
        float[] residual = TinyModel.uniform(rnd, m * n, 1);
        float[] c = residual.clone();
        MatMul.multiply(parallel, a, m, PackedMatrix.packRows(w, 0, k, n, k), bias, c, true);
        double[][] want = naive(a, m, w, n, k, bias);
        for (int i = 0; i < c.length; i++) {
            want[0][i] += residual[i];
            want[1][i] += Math.abs(residual[i]);
        }
        assertWithinRoundoff(want, c);
    }

    @Test
    void eachRowIsBitIdenticalWhateverRowsAndThreadsShareTheCall() {
        Random rnd = new Random(5);
        int n = 130;
        int k = 50;
        int m = 13;
        float[] w = TinyModel.uniform(rnd, n * k, 1);
        float[] a = TinyModel.uniform(rnd, m * k, 1);
        PackedMatrix pw = PackedMatrix.packBf16Rows(bf16Bits(w), n, k);
        float[] alone = new float[m * n];
        for (int r = 0; r < m; r++)
            MatMul.multiplyPanels(a, r * k, k, 1, k, pw, null, alone, r * n, n, false, 0, pw.panels());
        for (int rows = 2; rows <= m; rows++) {
            float[] together = new float[rows * n];
            MatMul.multiply(parallel, a, rows, pw, null, together, false);
            assertArrayEquals(java.util.Arrays.copyOf(alone, rows * n), together, rows + " rows together");
        }
    }
}
