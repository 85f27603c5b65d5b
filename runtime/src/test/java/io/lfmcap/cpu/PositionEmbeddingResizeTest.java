package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PositionEmbeddingResizeTest {
    private static final int SIDE = 16;
    private static final int DIM = 5;

    private static float[] table(long seed) { return TinyModel.uniform(new Random(seed), SIDE * SIDE * DIM, 1); }

    @Test
    void sixteenBySixteenIsTheIdentity() {
        float[] t = table(41);
        assertArrayEquals(t, PositionEmbeddingResize.resize(t, SIDE, DIM, 16, 16));
    }

    /** Doc section 2, 512x512 tiles: out[0]=in[0], out[31]=in[15], out[2k]=.25 in[k-1]+.75 in[k], out[2k+1]=.75 in[k]+.25 in[k+1]. */
    private static double[] closedForm32(double[] in) {
        double[] out = new double[32];
        for (int o = 0; o < 32; o++) {
            int k = o / 2;
            if (o == 0) out[o] = in[0];
            else if (o == 31) out[o] = in[15];
            else if (o % 2 == 0) out[o] = 0.25 * in[k - 1] + 0.75 * in[k];
            else out[o] = 0.75 * in[k] + 0.25 * in[k + 1];
        }
        return out;
    }

    @Test
    void upsamplingTo32x32MatchesTheClosedForm() {
        float[] t = table(42);
        float[] got = PositionEmbeddingResize.resize(t, SIDE, DIM, 32, 32);
        double[] want = new double[32 * 32 * DIM];
        for (int ch = 0; ch < DIM; ch++) {
            double[][] rows = new double[SIDE][];
            for (int i = 0; i < SIDE; i++) {
                double[] line = new double[SIDE];
                for (int j = 0; j < SIDE; j++) line[j] = t[(i * SIDE + j) * DIM + ch];
                rows[i] = closedForm32(line);
            }
            for (int c = 0; c < 32; c++) {
                double[] column = new double[SIDE];
                for (int i = 0; i < SIDE; i++) column[i] = rows[i][c];
                double[] up = closedForm32(column);
                for (int r = 0; r < 32; r++) want[(r * 32 + c) * DIM + ch] = up[r];
            }
        }
        Close.assertClose(want, got, 1e-6, "16x16 -> 32x32");
    }

    @Test
    void antialiasedDownsampleTo10AndUpsampleTo100MatchTheDocFormula() {
        float[] t = table(43);
        // A 2000x200 image gives 10 rows x 100 columns of patches (doc section 6). PyTorch computes the filter
        // centre in fp32 (scale 0.16f * 92.5 ~ 14.8 carries ~5e-7 of rounding), so against the exact formula
        // agreement is a few fp32 ulps of the centre, not of the output.
        Close.assertClose(NaiveLfm2.resizeGrid(t, SIDE, DIM, 10, 100), PositionEmbeddingResize.resize(t, SIDE, DIM, 10, 100), 3e-6, "16x16 -> 10x100");
        Close.assertClose(NaiveLfm2.resizeGrid(t, SIDE, DIM, 100, 10), PositionEmbeddingResize.resize(t, SIDE, DIM, 100, 10), 3e-6, "16x16 -> 100x10");
    }

    @Test
    void downsampleWidensTheTriangleFilter() {
        PositionEmbeddingResize.AxisWeights w = PositionEmbeddingResize.axisWeights(16, 10);
        // scale 1.6: output 0 is centred at 0.8 with support 1.6, so it reads inputs trunc(-0.3)=0 .. trunc(2.9)=2
        // (exclusive), weights 1 - |j + 0.5 - 0.8| / 1.6, normalised.
        assertEquals(0, w.first()[0]);
        assertEquals(2, w.count()[0]);
        double a = 1 - 0.3 / 1.6;
        double b = 1 - 0.7 / 1.6;
        assertEquals(a / (a + b), w.weights()[0], 1e-7);
        assertEquals(b / (a + b), w.weights()[1], 1e-7);
        // output 5 is centred at 8.8: inputs trunc(7.7)=7 .. trunc(10.9)=10, three taps.
        assertEquals(7, w.first()[5]);
        assertEquals(3, w.count()[5]);
    }
}
