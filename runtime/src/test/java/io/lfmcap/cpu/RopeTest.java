package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RopeTest {
    private static final int HEAD_DIM = 64;
    private static final double THETA = 1_000_000.0;

    private static float[] rotate(float[] x, int position) {
        Rope rope = new Rope(HEAD_DIM, THETA);
        float[] cos = new float[HEAD_DIM / 2];
        float[] sin = new float[HEAD_DIM / 2];
        rope.angles(position, cos, sin, 0);
        float[] y = x.clone();
        rope.apply(y, 0, cos, sin, 0);
        return y;
    }

    @Test
    void rotatesHalvesWithFloat32AnglesUpToPosition10000() {
        float[] x = TinyModel.uniform(new Random(21), HEAD_DIM, 1);
        for (int position : new int[] {0, 1, 2, 17, 1000, 4097, 9999, 10000}) {
            double[] want = NaiveLfm2.toDouble(x);
            NaiveLfm2.rope(want, 0, HEAD_DIM, position, THETA);
            Close.assertClose(want, rotate(x, position), 1e-6, "position " + position);
        }
    }

    @Test
    void angleRoundingToFloat32IsReproducedNotComputedInDouble() {
        float[] x = TinyModel.uniform(new Random(22), HEAD_DIM, 1);
        int position = 10000;
        float[] got = rotate(x, position);
        // The same rotation with exact double angles differs visibly at this position: the fp32 product
        // position * inv_freq is off by up to half an ulp of ~1e4 (5e-4 rad), far above the ~1e-7 roundoff
        // of the rotation itself.
        double maxDiff = 0;
        for (int j = 0; j < HEAD_DIM / 2; j++) {
            double a = position / Math.pow(THETA, 2.0 * j / HEAD_DIM);
            double exact = x[j] * Math.cos(a) - x[j + HEAD_DIM / 2] * Math.sin(a);
            maxDiff = Math.max(maxDiff, Math.abs(exact - got[j]));
        }
        assertTrue(maxDiff > 2e-5, "float32 angle rounding should move results by > 2e-5 at position 1e4, moved " + maxDiff);
    }
}
