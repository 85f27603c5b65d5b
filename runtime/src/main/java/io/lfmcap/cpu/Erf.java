package io.lfmcap.cpu;

/**
 * The error function in double precision (Java has none): the Maclaurin series for |x| &lt; 2, where it
 * loses at most ~2 of 16 digits, and erfc's continued fraction (Abramowitz &amp; Stegun 7.1.14) from 2 on,
 * where 80 terms converge to double precision. Accurate to ~1e-15, far below the fp32 rounding of the
 * projector GELU.
 */
final class Erf {
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);
    private static final int FRACTION_DEPTH = 80;
    private static final double SERIES_LIMIT = 2.0;

    private Erf() {}

    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        if (ax < SERIES_LIMIT) return series(x);
        double value = 1.0 - erfc(ax);
        return x < 0 ? -value : value;
    }

    /** erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)). */
    private static double series(double x) {
        double x2 = x * x;
        double term = x;      // (-1)^n x^(2n+1) / n!
        double sum = x;
        for (int n = 1; n < 200; n++) {
            term *= -x2 / n;
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.abs(add) <= 1e-17 * Math.abs(sum)) break;
        }
        return TWO_OVER_SQRT_PI * sum;
    }

    /** erfc(x) for x &gt;= 2: exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
    static double erfc(double x) {
        double t = x;
        for (int k = FRACTION_DEPTH; k >= 1; k--) t = x + (k * 0.5) / t;
        return Math.exp(-x * x) / (Math.sqrt(Math.PI) * t);
    }
}
