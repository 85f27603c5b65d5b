package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Tolerance checks: every element within {@code tol} times the largest expected magnitude. */
final class Close {
    private Close() {}

    static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        if (!(worst <= tol * scale))
            fail(what + ": max error " + worst + " at " + at + " (expected " + expected[at] + ", got " + actual[at]
                    + ") exceeds " + tol + " x " + scale);
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertClose(NaiveLfm2.toDouble(expected), actual, tol, what);
    }
}
