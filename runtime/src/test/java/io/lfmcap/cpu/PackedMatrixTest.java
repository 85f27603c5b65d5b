package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PackedMatrixTest {
    private static void assertRowsRoundTrip(DType dtype) {
        int rows = 45;
        int cols = 7;
        InMemoryWeights w = new InMemoryWeights();
        w.put("m", dtype, TinyModel.uniform(new Random(7), rows * cols, 2), rows, cols);
        float[] stored = w.values("m");
        try (Parallel parallel = new Parallel(2)) {
            PackedMatrix m = PackedMatrix.load(w.get("m"), rows, cols, parallel);
            assertEquals(dtype == DType.BF16, m.isBf16());
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                m.row(r, row, 0);
                float[] want = java.util.Arrays.copyOfRange(stored, r * cols, (r + 1) * cols);
                assertArrayEquals(want, row, "row " + r);
            }
        }
    }

    @Test
    void f32TensorRowsReadBackExactly() { assertRowsRoundTrip(DType.F32); }

    @Test
    void bf16TensorRowsReadBackExactly() { assertRowsRoundTrip(DType.BF16); }

    @Test
    void f16TensorRowsReadBackExactly() { assertRowsRoundTrip(DType.F16); }

    @Test
    void halfFloatsWidenExactly() {
        assertEquals(1.0f, PackedMatrix.halfToFloat((short) 0x3C00));
        assertEquals(-2.0f, PackedMatrix.halfToFloat((short) 0xC000));
        assertEquals(65504.0f, PackedMatrix.halfToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, PackedMatrix.halfToFloat((short) 0x0001));
        assertEquals(0.333251953125f, PackedMatrix.halfToFloat((short) 0x3555));
        assertEquals(Float.NEGATIVE_INFINITY, PackedMatrix.halfToFloat((short) 0xFC00));
        assertTrue(Float.isNaN(PackedMatrix.halfToFloat((short) 0x7E00)));
        assertFalse(Float.isNaN(PackedMatrix.halfToFloat((short) 0x7C00)));
    }

    @Test
    void bf16PanelsInterleaveTheTwoHalvesOfAPanel() {
        int lanes = PackedMatrix.LANES;
        assertEquals(0, PackedMatrix.bf16Slot(0));
        assertEquals(2, PackedMatrix.bf16Slot(1));
        assertEquals(1, PackedMatrix.bf16Slot(lanes));
        assertEquals(2 * lanes - 1, PackedMatrix.bf16Slot(2 * lanes - 1));
    }
}
