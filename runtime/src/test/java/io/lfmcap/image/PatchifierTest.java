package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PatchifierTest {
    private static final double[] HALF = {0.5, 0.5, 0.5};
    private final Patchifier patchifier = new Patchifier(16, HALF, HALF, 1.0 / 255.0);

    @Test
    void patchesAreRowMajorWithDyDxChannelLayout() {
        RgbImage image = Fixtures.pattern(32, 48); // 3 rows x 2 columns of 16x16 patches
        PatchGrid grid = patchifier.patchify(image);
        assertEquals(3, grid.gridH());
        assertEquals(2, grid.gridW());
        assertEquals(768, grid.patchDim());
        for (int n = 0; n < 6; n++) {
            int py = n / 2, px = n % 2;
            for (int k = 0; k < 768; k++) {
                int c = k % 3, dx = (k / 3) % 16, dy = k / 48; // docs/model-lfm2-vl.md section 2, step 2
                int v = image.get(px * 16 + dx, py * 16 + dy, c);
                assertEquals((v - 127.5f) / 127.5f, grid.patches()[n * 768 + k], "patch " + n + " element " + k);
            }
        }
    }

    @Test
    void normalisationIsTheFusedFloat32Formula() {
        byte[] px = {0, (byte) 255, 127, (byte) 128, 1, (byte) 254};
        RgbImage image = new RgbImage(2, 1, px);
        float[] v = new Patchifier(1, HALF, HALF, 1.0 / 255.0).patchify(image).patches();
        assertEquals(-1.0f, v[0]);
        assertEquals(1.0f, v[1]);
        assertEquals(-0.003921569f, v[2]);
        assertEquals(0.003921569f, v[3]);
        assertEquals((1 - 127.5f) / 127.5f, v[4]);
        assertEquals((254 - 127.5f) / 127.5f, v[5]);
    }

    @Test
    void meanAndStdApplyPerChannel() {
        RgbImage image = new RgbImage(1, 1, new byte[] {51, 51, 51});
        float[] v = new Patchifier(1, new double[] {0.0, 0.5, 1.0}, new double[] {1.0, 0.5, 0.25}, 1.0 / 255.0).patchify(image).patches();
        assertEquals(51f / 255f, v[0]);
        assertEquals((51f - 127.5f) / 127.5f, v[1]);
        assertEquals((51f - 255f) / 63.75f, v[2]);
    }

    @Test
    void viewsMustBeWholePatches() {
        assertThrows(IllegalArgumentException.class, () -> patchifier.patchify(Fixtures.pattern(20, 16)));
    }
}
