package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class TileGridTest {

    @Test
    void defaultCandidatesComeInCPythonsOrder() {
        // docs/model-lfm2-vl.md section 6: sorted(set(ratios), key=area) for min_tiles=2, max_tiles=10
        assertEquals("1,2 2,1 3,1 1,3 2,2 4,1 1,4 5,1 1,5 1,6 6,1 3,2 2,3 7,1 1,7 4,2 2,4 1,8 8,1 1,9 3,3 9,1 2,5 5,2 10,1 1,10",
                format(TileGrid.candidates(2, 10)));
    }

    @Test
    void otherRangesFollowCPythonSetOrderIncludingTableGrowth() {
        // printed by CPython 3.11: sorted(set(ratios), key=lambda x: x[0] * x[1])
        assertEquals("1,1 1,2 2,1 3,1 1,3 2,2 4,1 1,4 5,1 1,5 1,6 6,1 3,2 2,3 7,1 1,7 4,2 2,4 1,8 8,1 1,9 3,3 9,1 2,5 5,2 10,1 1,10 11,1 1,11 12,1 3,4 4,3 1,12 6,2 2,6",
                format(TileGrid.candidates(1, 12)));
        assertEquals("3,1 1,3 4,1 1,4 2,2 1,5 5,1 6,1 2,3 1,6 3,2 7,1 1,7", format(TileGrid.candidates(3, 7)));
    }

    @Test
    void tupleHashIsCPythons() {
        assertEquals(-3550055125485641917L, TileGrid.PythonSet.tupleHash(1, 2)); // hash((1, 2)) in CPython 3.8+
        assertEquals(3863035679738500442L, TileGrid.PythonSet.tupleHash(3, 2));
    }

    @Test
    void picksTheClosestAspectRatio() {
        assertArrayEquals(new int[] {3, 2}, TileGrid.choose(1024, 768, 2, 10, 512));
        assertArrayEquals(new int[] {3, 2}, TileGrid.choose(4000, 3000, 2, 10, 512));
        assertArrayEquals(new int[] {3, 1}, TileGrid.choose(3000, 1000, 2, 10, 512));
        assertArrayEquals(new int[] {1, 3}, TileGrid.choose(1000, 3000, 2, 10, 512));
    }

    @Test
    void exactTiesGoToTheLaterGridOnlyWhenTheImageFillsHalfOfIt() {
        // 1920x1080: (2,1) and (4,2) both have ratio 2; the image covers more than half of 4x2 tiles
        assertArrayEquals(new int[] {4, 2}, TileGrid.choose(1920, 1080, 2, 10, 512));
        // square images tie (2,2) with (3,3): 1600x1600 > half of 3x3 tiles, 736x736 is not
        assertArrayEquals(new int[] {3, 3}, TileGrid.choose(1600, 1600, 2, 10, 512));
        assertArrayEquals(new int[] {2, 2}, TileGrid.choose(736, 736, 2, 10, 512));
        // 1280x1024 (ratio 1.25): (2,2), (3,2) and (3,3) all 0.25 away; each later one wins in turn (CPython: (3, 3))
        assertArrayEquals(new int[] {3, 3}, TileGrid.choose(1280, 1024, 2, 10, 512));
    }

    private static String format(List<int[]> candidates) {
        StringBuilder s = new StringBuilder();
        for (int[] c : candidates) s.append(s.length() == 0 ? "" : " ").append(c[0]).append(',').append(c[1]);
        return s.toString();
    }
}
