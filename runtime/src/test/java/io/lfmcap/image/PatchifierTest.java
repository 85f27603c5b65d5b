package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
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
    void levelsAreThePixelsInPatchOrder() {
        RgbImage image = Fixtures.pattern(48, 32); // 2 rows x 3 columns of 16x16 patches
        byte[] levels = patchifier.patchify(image).levels();
        assertEquals(6 * 768, levels.length);
        for (int n = 0; n < 6; n++) {
            int py = n / 3, px = n % 3;
            for (int k = 0; k < 768; k++) {
                int c = k % 3, dx = (k / 3) % 16, dy = k / 48;
                assertEquals(image.get(px * 16 + dx, py * 16 + dy, c), levels[n * 768 + k] & 0xff, "patch " + n + " element " + k);
            }
        }
    }

    @Test
    void levelFormPatchesAreTheFusedFloat32FormulaBitForBitAtEveryLevel() {
        // CLIP statistics (not exact in binary) and an unusual rescale, so every rounding step matters
        double[] mean = {0.48145466, 0.4578275, 0.40821073}, std = {0.26862954, 0.26130258, 0.27577711};
        double rescale = 1.0 / 255.0;
        byte[] px = new byte[256 * 3];
        for (int x = 0; x < 256; x++) {
            px[3 * x] = (byte) x;
            px[3 * x + 1] = (byte) (255 - x);
            px[3 * x + 2] = (byte) (x * 7);
        }
        float[] got = new Patchifier(1, mean, std, rescale).patchify(new RgbImage(256, 1, px)).patches();
        float scale = (float) (1.0 / rescale);
        for (int k = 0; k < got.length; k++) {
            int c = k % 3;
            float m = (float) mean[c] * scale, s = (float) std[c] * scale; // HF _fuse_mean_std_and_rescale_factor
            float want = ((float) (px[k] & 0xff) - m) / s;                 // tvF.normalize in float32
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[k]), "value " + k);
        }
    }

    @Test
    void everyViewOfAPatchifierSharesOneLevelTable() {
        assertSame(patchifier.patchify(Fixtures.pattern(16, 16)).levelTable(), patchifier.patchify(Fixtures.pattern(32, 48)).levelTable());
    }

    @Test
    void viewsMustBeWholePatches() {
        assertThrows(IllegalArgumentException.class, () -> patchifier.patchify(Fixtures.pattern(20, 16)));
    }
}
