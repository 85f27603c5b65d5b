package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** The host-side position-embedding taps (no GPU needed). */
class PositionTapsTest {
    @Test
    void anUpsampleByTwoHasThePublishedClosedForm() {
        // docs/model-lfm2-vl.md section 2: out[0] = in[0], out[2k] = 0.25 in[k-1] + 0.75 in[k], out[2k+1] = 0.75 in[k] + 0.25 in[k+1]
        PositionTaps.Axis a = PositionTaps.axis(16, 32);
        assertEquals(0, a.first()[0]);
        assertEquals(1, a.count()[0]);
        assertEquals(1f, a.weights()[0], 0f);
        assertEquals(4, a.first()[10]);
        assertEquals(0.25f, a.weights()[10 * a.maxTaps()], 1e-7f);
        assertEquals(0.75f, a.weights()[10 * a.maxTaps() + 1], 1e-7f);
        assertEquals(5, a.first()[11]);
        assertEquals(0.75f, a.weights()[11 * a.maxTaps()], 1e-7f);
        assertEquals(0.25f, a.weights()[11 * a.maxTaps() + 1], 1e-7f);
        assertEquals(15, a.first()[31]);
        assertEquals(1, a.count()[31]);
    }

    @Test
    void anUnchangedAxisIsTheIdentity() {
        PositionTaps.Axis a = PositionTaps.axis(16, 16);
        for (int i = 0; i < 16; i++) {
            assertEquals(i, a.first()[i]);
            assertEquals(1, a.count()[i]);
            assertEquals(1f, a.weights()[i], 0f);
        }
    }

    @Test
    void aDownsampleAveragesAWindowWiderThanTwoWithWeightsSummingToOne() {
        PositionTaps.Axis a = PositionTaps.axis(16, 10); // a 2000x200 image: 10 patch rows (antialiased)
        for (int o = 0; o < 10; o++) {
            assertTrue(a.count()[o] >= 2, "output " + o + " reads " + a.count()[o] + " inputs");
            float sum = 0;
            for (int j = 0; j < a.count()[o]; j++) sum += a.weights()[o * a.maxTaps() + j];
            assertEquals(1f, sum, 1e-6f);
        }
        assertEquals(0, a.first()[0]);
        assertEquals(16, a.first()[9] + a.count()[9]);
    }
}
