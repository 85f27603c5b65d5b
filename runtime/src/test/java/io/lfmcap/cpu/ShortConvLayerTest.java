package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.lfmcap.model.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShortConvLayerTest {
    private static final int H = 8;
    private static final int KERNEL = 3;
    private static final int L = 7;

    private final InMemoryWeights weights = new InMemoryWeights();
    private final ShortConvLayer layer;
    private final float[] bcx;

    ShortConvLayerTest() {
        Random rnd = new Random(51);
        weights.put("c.in_proj.weight", DType.F32, TinyModel.uniform(rnd, 3 * H * H, 1), 3 * H, H);
        weights.put("c.conv.weight", DType.F32, TinyModel.uniform(rnd, H * KERNEL, 1), H, 1, KERNEL);
        weights.put("c.out_proj.weight", DType.F32, TinyModel.uniform(rnd, H * H, 1), H, H);
        try (Parallel p = new Parallel(1)) {
            layer = new ShortConvLayer(new WeightLoader(weights, p), "c.", H, KERNEL, false);
        }
        bcx = TinyModel.uniform(rnd, L * 3 * H, 1);
    }

    /** Runs the gated conv over rows [0, L) in chunks of the given sizes, carrying one state. */
    private float[] inChunks(int... sizes) {
        float[] work = bcx.clone();
        float[] y = new float[L * H];
        float[] state = layer.newState();
        int row = 0;
        for (int size : sizes) {
            layer.convolve(state, work, y, row, size);
            row += size;
        }
        return y;
    }

    @Test
    void gatedCausalConvMatchesDefinition() {
        float[] taps = weights.values("c.conv.weight");
        double[] want = new double[L * H];
        for (int t = 0; t < L; t++)
            for (int c = 0; c < H; c++) {
                double conv = 0;
                for (int k = 0; k < KERNEL; k++) {
                    int s = t - (KERNEL - 1) + k;       // tap k multiplies U[t - 2 + k]; U before 0 is 0
                    if (s >= 0) conv += taps[c * KERNEL + k] * (double) bcx[s * 3 * H + c] * bcx[s * 3 * H + 2 * H + c];
                }
                want[t * H + c] = bcx[t * 3 * H + H + c] * conv;   // C gates the output
            }
        Close.assertClose(want, inChunks(L), 1e-6, "B, C, X gated conv");
    }

    @Test
    void stepByStepWithCarriedStateEqualsWholeSequence() {
        assertArrayEquals(inChunks(L), inChunks(1, 1, 1, 1, 1, 1, 1));
    }

    @Test
    void unevenChunksEqualWholeSequence() {
        assertArrayEquals(inChunks(L), inChunks(2, 1, 4));
        assertArrayEquals(inChunks(L), inChunks(5, 2));
    }
}
