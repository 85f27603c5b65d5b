package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class NormsTest {
    @Test
    void rmsNormScalesByTheWeightItself() {
        Random rnd = new Random(11);
        int rows = 3;
        int n = 77;
        float[] x = TinyModel.uniform(rnd, rows * n, 3);
        float[] w = TinyModel.uniform(rnd, n, 1.5);
        float[] out = new float[rows * n];
        Norms.rmsNorm(x, 0, n, rows, n, w, 1e-5f, out);
        Close.assertClose(NaiveLfm2.rmsNorm(NaiveLfm2.toDouble(x), rows, n, w, 1e-5), out, 1e-6, "rmsnorm");
    }

    @Test
    void rmsNormOfAStridedHeadLeavesOtherValuesAlone() {
        float[] x = {3, 4, 100, 100};
        Norms.rmsNorm(x, 0, 4, 1, 2, new float[] {1, 2}, 0f, x);
        // rms of (3, 4) is sqrt(12.5): 3/3.5355, 2 * 4/3.5355
        assertArrayEquals(new float[] {0.84852815f, 2.2627418f, 100, 100}, x, 1e-6f);
    }

    @Test
    void layerNormMatchesBiasedVarianceFormula() {
        Random rnd = new Random(12);
        int rows = 4;
        int n = 50;
        float[] x = TinyModel.uniform(rnd, rows * n, 2);
        for (int i = 0; i < x.length; i++) x[i] += 5f;   // a mean far from zero
        float[] w = TinyModel.uniform(rnd, n, 1);
        float[] b = TinyModel.uniform(rnd, n, 1);
        float[] out = new float[rows * n];
        Norms.layerNorm(x, rows, n, w, b, 1e-6f, out);
        Close.assertClose(NaiveLfm2.layerNorm(NaiveLfm2.toDouble(x), rows, n, w, b, 1e-6), out, 1e-6, "layernorm");
    }
}
