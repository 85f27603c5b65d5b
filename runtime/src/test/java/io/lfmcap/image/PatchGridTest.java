package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PatchGridTest {
    /** Channel c, level v -> c * 1000 + v: every entry distinct, so a wrong channel or level shows. */
    private static float[] table() {
        float[] t = new float[PatchGrid.LEVEL_TABLE_SIZE];
        for (int c = 0; c < 3; c++) for (int v = 0; v < 256; v++) t[c * 256 + v] = c * 1000 + v;
        return t;
    }

    @Test
    void floatFormHoldsItsValuesAndNoLevels() {
        float[] values = {0.5f, -1f, 1f, 0.25f, 0f, -0.5f};
        PatchGrid grid = new PatchGrid(1, 2, 3, values);
        assertSame(values, grid.patches());
        assertNull(grid.levels());
        assertNull(grid.levelTable());
        assertEquals(2, grid.numPatches());
    }

    @Test
    void levelFormMapsEachValueThroughItsChannelsTableRow() {
        byte[] levels = {0, 1, 2, (byte) 255, (byte) 128, 7, 9, 9, 9, 3, 2, 1};
        PatchGrid grid = PatchGrid.ofLevels(2, 1, 6, levels, table());
        assertArrayEquals(new float[] {0, 1001, 2002, 255, 1128, 2007, 9, 1009, 2009, 3, 1002, 2001}, grid.patches());
        assertSame(levels, grid.levels());
        assertEquals(2, grid.gridH());
        assertEquals(1, grid.gridW());
        assertEquals(6, grid.patchDim());
    }

    @Test
    void levelFormComputesItsFloatsOnEveryCallWithoutKeepingThem() {
        PatchGrid grid = PatchGrid.ofLevels(1, 1, 3, new byte[] {4, 5, 6}, table());
        float[] first = grid.patches();
        assertNotSame(first, grid.patches());
        assertArrayEquals(first, grid.patches());
    }

    @Test
    void bufferLengthMustMatchTheGrid() {
        var floats = assertThrows(IllegalArgumentException.class, () -> new PatchGrid(2, 2, 3, new float[11]));
        assertEquals("patch buffer has 11 values, expected 2x2x3", floats.getMessage());
        var levels = assertThrows(IllegalArgumentException.class, () -> PatchGrid.ofLevels(2, 2, 3, new byte[13], table()));
        assertEquals("patch buffer has 13 values, expected 2x2x3", levels.getMessage());
    }

    @Test
    void levelFormNeedsWholePixelsAndAFullTable() {
        var partial = assertThrows(IllegalArgumentException.class, () -> PatchGrid.ofLevels(1, 1, 4, new byte[4], table()));
        assertEquals("patch length 4 is not whole RGB pixels (a multiple of 3)", partial.getMessage());
        var shortTable = assertThrows(IllegalArgumentException.class, () -> PatchGrid.ofLevels(1, 1, 3, new byte[3], new float[256]));
        assertEquals("level table has 256 values, expected 768 (3 channels x 256 levels)", shortTable.getMessage());
    }
}
