package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** VisionTower.equalViewPieces: how a pass's views are cut into the pieces cuDNN's attention plans serve (CPU only). */
class EqualViewPiecesTest {
    @Test
    void runsOfEqualViewsSplitIntoPowerOfTwoPiecesLargestFirst() {
        // 7 tiles of 1024 patches, a 600-patch thumbnail, 2 more tiles
        int[] patches = {1024, 1024, 1024, 1024, 1024, 1024, 1024, 600, 1024, 1024};
        List<int[]> pieces = VisionTower.equalViewPieces(patches);
        int[][] want = {{0, 4, 0}, {4, 2, 4096}, {6, 1, 6144}, {7, 1, 7168}, {8, 2, 7768}};
        assertEquals(want.length, pieces.size());
        for (int i = 0; i < want.length; i++) assertArrayEquals(want[i], pieces.get(i), "piece " + i);
    }

    @Test
    void aFullPassOfOneSizeIsOnePieceAndNoViewsNoPieces() {
        int[] patches = new int[32];
        java.util.Arrays.fill(patches, 1024);
        List<int[]> pieces = VisionTower.equalViewPieces(patches);
        assertEquals(1, pieces.size());
        assertArrayEquals(new int[] {0, 32, 0}, pieces.get(0));
        assertEquals(0, VisionTower.equalViewPieces(new int[0]).size());
    }
}
