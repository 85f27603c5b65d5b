package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ActivationsTest {
    private static final int N = 53;   // not a multiple of any vector length: tails are exercised

    private static float[] inputs(long seed) { return TinyModel.uniform(new Random(seed), N, 6); }

    @Test
    void tanhGeluMatchesFormula() {
        float[] x = inputs(31);
        float[] y = x.clone();
        Activations.geluTanh(y, 0, N);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) want[i] = NaiveLfm2.geluTanh(x[i]);
        Close.assertClose(want, y, 1e-6, "gelu tanh");
    }

    @Test
    void erfGeluMatchesFormula() {
        float[] x = inputs(32);
        float[] y = x.clone();
        Activations.geluErf(y, 0, N);
        for (int i = 0; i < N; i++) {
            double want = 0.5 * x[i] * (1 + Erf.erf(x[i] / Math.sqrt(2)));
            assertEquals(want, y[i], 1e-6 * Math.max(1, Math.abs(want)), "x=" + x[i]);
        }
    }

    @Test
    void erfMatchesKnownValues() {
        assertEquals(0.0, Erf.erf(0), 0);
        assertEquals(0.5204998778130465, Erf.erf(0.5), 1e-15);
        assertEquals(0.8427007929497149, Erf.erf(1), 1e-15);
        assertEquals(-0.9953222650189527, Erf.erf(-2), 1e-15);
        assertEquals(0.9953222650189527, Erf.erf(1.9999999999), 1e-9);
        assertEquals(1 - 2.209049699858544e-05, Erf.erf(3), 1e-15);
        assertEquals(1.5374597944280349e-12, Erf.erfc(5), 1e-25);
        assertEquals(-1.0, Erf.erf(-7), 1e-16);
    }

    @Test
    void siluGateMultipliesTheUpProjection() {
        float[] g = inputs(33);
        float[] up = inputs(34);
        float[] y = g.clone();
        Activations.siluTimes(y, 0, up, N);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) want[i] = NaiveLfm2.silu(g[i]) * up[i];
        Close.assertClose(want, y, 1e-6, "silu * up");
    }

    @Test
    void scaledSoftmaxSumsToOneOverTheGivenRangeOnly() {
        float[] s = inputs(35);
        float[] y = s.clone();
        Activations.scaledSoftmax(y, 3, 40, 0.37f);
        double[] want = new double[40];
        for (int i = 0; i < 40; i++) want[i] = (double) (s[3 + i] * 0.37f);
        NaiveLfm2.softmax(want, 0, 40);
        Close.assertClose(want, java.util.Arrays.copyOfRange(y, 3, 43), 1e-6, "softmax");
        assertEquals(s[0], y[0]);
        assertEquals(s[43], y[43]);
    }

    @Test
    void unknownVisionActivationIsRejectedByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> Activations.isTanhGelu("relu"));
        assertTrue(e.getMessage().contains("relu"));
    }
}
