package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ProjectorTest {
    @Test
    void pixelUnshuffleConcatenatesEachTwoByTwoBlockDyMajor() {
        // A 2x4 grid of 1-dim features numbered row-major: 0 1 2 3 / 4 5 6 7.
        float[] f = {0, 1, 2, 3, 4, 5, 6, 7};
        float[] u = Projector.pixelUnshuffle(f, 2, 4, 1, 2);
        assertArrayEquals(new float[] {0, 1, 4, 5, 2, 3, 6, 7}, u);
    }

    @Test
    void pixelUnshuffleKeepsFeatureVectorsWholeAndTokensRowMajor() {
        // 4 rows x 2 columns of 2-dim features (value = 10 * patch + channel) -> 2 tokens of 8.
        float[] f = new float[4 * 2 * 2];
        for (int p = 0; p < 8; p++) for (int c = 0; c < 2; c++) f[p * 2 + c] = 10 * p + c;
        float[] u = Projector.pixelUnshuffle(f, 4, 2, 2, 2);
        assertArrayEquals(new float[] {0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 61, 70, 71}, u);
    }

    @Test
    void oddGridIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Projector.pixelUnshuffle(new float[6], 3, 2, 1, 2));
    }
}
