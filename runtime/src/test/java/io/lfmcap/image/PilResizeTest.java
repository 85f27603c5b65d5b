package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PilResizeTest {

    @Test
    void sameSizeIsTheImageItself() {
        RgbImage in = Fixtures.pattern(9, 4);
        assertSame(in, PilResize.resize(in, 9, 4));
    }

    @Test
    void halvingAConstantImageKeepsItConstant() {
        byte[] px = new byte[40 * 30 * 3];
        for (int i = 0; i < px.length; i += 3) { px[i] = 17; px[i + 1] = (byte) 200; px[i + 2] = (byte) 255; }
        RgbImage out = PilResize.resize(new RgbImage(40, 30, px), 20, 15);
        for (int i = 0; i < out.pixels().length; i += 3) {
            assertEquals(17, out.pixels()[i] & 0xff);
            assertEquals(200, out.pixels()[i + 1] & 0xff);
            assertEquals(255, out.pixels()[i + 2] & 0xff);
        }
    }

    @Test
    void downsamplesARowByHand() {
        // 4 -> 2: scale 2, support 2; output 0 reads x=0..2 with triangle weights .75 .75 .25 (normalised /1.75),
        // output 1 reads x=1..3 with .25 .75 .75: 100*.75/1.75 + 200*.25/1.75 = 71.4 ; (100*.25 + 200*.75 + 255*.75)/1.75 = 209.3
        RgbImage out = PilResize.resize(gray(4, 1, 0, 100, 200, 255), 2, 1);
        assertArrayEquals(new int[] {71, 209}, reds(out));
    }

    @Test
    void upsamplesARowByHand() {
        // 2 -> 4: centers .25 .75 1.25 1.75 in source pixels; edges clamp, inner outputs mix 3:1 and 1:3
        RgbImage out = PilResize.resize(gray(2, 1, 0, 200), 4, 1);
        assertArrayEquals(new int[] {0, 50, 150, 200}, reds(out));
    }

    @Test
    void resizesAColumnByHand() {
        RgbImage out = PilResize.resize(gray(1, 4, 0, 100, 200, 255), 1, 2);
        assertArrayEquals(new int[] {71, 209}, reds(out));
    }

    @ParameterizedTest
    @ValueSource(strings = {"noise-61x47-to-23x31", "noise-61x47-to-97x53", "noise-61x47-to-61x20", "noise-61x47-to-20x47",
            "noise-61x47-to-7x5", "wave-120x90-to-64x48", "wave-120x90-to-200x150"})
    void matchesPillowBitForBit(String pair) {
        String source = pair.substring(0, pair.indexOf("-to-"));
        RgbImage expected = Fixtures.decode("pil-resize/" + pair + ".png");
        RgbImage out = PilResize.resize(Fixtures.decode("pil-resize/" + source + ".png"), expected.width(), expected.height());
        assertArrayEquals(expected.pixels(), out.pixels(), pair);
    }

    @Test
    void agreesWithAPlainDoublePrecisionResampleWithinOneLevel() {
        Random random = new Random(5);
        int[][] sizes = {{53, 41, 17, 29}, {17, 29, 53, 41}, {100, 7, 33, 7}, {7, 100, 7, 33}, {640, 480, 576, 416}, {31, 31, 512, 512}};
        for (int[] s : sizes) {
            byte[] px = new byte[s[0] * s[1] * 3];
            random.nextBytes(px);
            RgbImage in = new RgbImage(s[0], s[1], px);
            RgbImage fast = PilResize.resize(in, s[2], s[3]);
            int[] reference = referenceResize(in, s[2], s[3]);
            int exact = 0;
            for (int i = 0; i < reference.length; i++) {
                int d = Math.abs(reference[i] - (fast.pixels()[i] & 0xff));
                assertTrue(d <= 1, "size " + java.util.Arrays.toString(s) + " sample " + i + " differs by " + d);
                if (d == 0) exact++;
            }
            assertTrue(exact > reference.length * 0.9, "only " + exact + " of " + reference.length + " samples identical");
        }
    }

    /**
     * Independent separable triangle-filter resample in doubles (Pillow's window and weights, no fixed
     * point), horizontal pass rounded to 8 bits as Pillow's intermediate buffer is, then vertical.
     */
    private static int[] referenceResize(RgbImage in, int outW, int outH) {
        int w = in.width(), h = in.height();
        int[] tmp = new int[outW * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < outW; x++)
                for (int c = 0; c < 3; c++) {
                    double sum = 0, norm = 0, scale = (double) w / outW, support = Math.max(scale, 1), center = (x + 0.5) * scale;
                    for (int j = Math.max(0, (int) Math.floor(center - support + 0.5)); j < Math.min(w, (int) Math.floor(center + support + 0.5)); j++) {
                        double weight = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
                        sum += weight * in.get(j, y, c);
                        norm += weight;
                    }
                    tmp[(y * outW + x) * 3 + c] = outW == w ? in.get(x, y, c) : (int) Math.min(255, Math.max(0, Math.round(sum / norm)));
                }
        int[] out = new int[outW * outH * 3];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
                for (int c = 0; c < 3; c++) {
                    double sum = 0, norm = 0, scale = (double) h / outH, support = Math.max(scale, 1), center = (y + 0.5) * scale;
                    for (int j = Math.max(0, (int) Math.floor(center - support + 0.5)); j < Math.min(h, (int) Math.floor(center + support + 0.5)); j++) {
                        double weight = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
                        sum += weight * tmp[(j * outW + x) * 3 + c];
                        norm += weight;
                    }
                    out[(y * outW + x) * 3 + c] = outH == h ? tmp[(y * outW + x) * 3 + c] : (int) Math.min(255, Math.max(0, Math.round(sum / norm)));
                }
        return out;
    }

    private static RgbImage gray(int w, int h, int... values) {
        byte[] px = new byte[w * h * 3];
        for (int i = 0; i < values.length; i++) px[i * 3] = px[i * 3 + 1] = px[i * 3 + 2] = (byte) values[i];
        return new RgbImage(w, h, px);
    }

    private static int[] reds(RgbImage image) {
        int[] r = new int[image.width() * image.height()];
        for (int i = 0; i < r.length; i++) r[i] = image.pixels()[i * 3] & 0xff;
        return r;
    }
}
