package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ExifOrientationTest {
    /** 3x2 image whose pixel (x, y) has red = 10 * y + x: rows "0 1 2" / "10 11 12". */
    private static final RgbImage IMAGE = image(3, 2, 0, 1, 2, 10, 11, 12);

    @Test
    void readsBigEndianOrientation() {
        byte[] tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0};
        assertEquals(6, ExifOrientation.read(tiff, 0, tiff.length));
    }

    @Test
    void readsLittleEndianOrientationAfterOtherTags() {
        byte[] tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
                0x0F, 0x01, 2, 0, 4, 0, 0, 0, 'A', 'B', 'C', 0, // Make
                0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0};
        assertEquals(8, ExifOrientation.read(tiff, 0, tiff.length));
    }

    @Test
    void missingBrokenOrOutOfRangeOrientationMeansNone() {
        byte[] noTag = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
        byte[] badValue = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 9, 0, 0};
        byte[] badOffset = {'M', 'M', 0, 42, 0x7F, 0, 0, 0, 0, 0};
        assertEquals(1, ExifOrientation.read(noTag, 0, noTag.length));
        assertEquals(1, ExifOrientation.read(badValue, 0, badValue.length));
        assertEquals(1, ExifOrientation.read(badOffset, 0, badOffset.length));
        assertEquals(1, ExifOrientation.read(new byte[3], 0, 3));
    }

    @Test
    void orientationOneReturnsTheSameImage() {
        assertSame(IMAGE, ExifOrientation.apply(IMAGE, 1));
    }

    @Test
    void appliesEachOrientationAsPillowsTranspose() {
        assertImage(image(3, 2, 2, 1, 0, 12, 11, 10), ExifOrientation.apply(IMAGE, 2), "FLIP_LEFT_RIGHT");
        assertImage(image(3, 2, 12, 11, 10, 2, 1, 0), ExifOrientation.apply(IMAGE, 3), "ROTATE_180");
        assertImage(image(3, 2, 10, 11, 12, 0, 1, 2), ExifOrientation.apply(IMAGE, 4), "FLIP_TOP_BOTTOM");
        assertImage(image(2, 3, 0, 10, 1, 11, 2, 12), ExifOrientation.apply(IMAGE, 5), "TRANSPOSE");
        assertImage(image(2, 3, 10, 0, 11, 1, 12, 2), ExifOrientation.apply(IMAGE, 6), "ROTATE_270 (clockwise)");
        assertImage(image(2, 3, 12, 2, 11, 1, 10, 0), ExifOrientation.apply(IMAGE, 7), "TRANSVERSE");
        assertImage(image(2, 3, 2, 12, 1, 11, 0, 10), ExifOrientation.apply(IMAGE, 8), "ROTATE_90 (counter-clockwise)");
    }

    /** An image with the given red values (row-major), green 0 and blue 255. */
    private static RgbImage image(int w, int h, int... red) {
        byte[] px = new byte[w * h * 3];
        for (int i = 0; i < red.length; i++) {
            px[i * 3] = (byte) red[i];
            px[i * 3 + 2] = (byte) 255;
        }
        return new RgbImage(w, h, px);
    }

    private static void assertImage(RgbImage expected, RgbImage actual, String what) {
        assertEquals(expected.width() + "x" + expected.height(), actual.width() + "x" + actual.height(), what);
        assertArrayEquals(expected.pixels(), actual.pixels(), what);
    }
}
