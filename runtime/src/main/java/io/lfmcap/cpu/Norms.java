package io.lfmcap.cpu;

/**
 * Row-wise normalisations. Statistics are summed in double, then the per-row factor and the
 * element-wise arithmetic follow the fp32 operation order of the reference modules.
 */
final class Norms {
    private Norms() {}

    /**
     * HF {@code Lfm2RMSNorm}: {@code w * (x * rsqrt(mean(x^2) + eps))}, weight used as is (not 1 + w).
     * Normalises {@code rows} rows of {@code n} values, row r at {@code xOff + r * stride}, into {@code out}
     * at the same offsets ({@code out} may be {@code x}).
     */
    static void rmsNorm(float[] x, int xOff, int stride, int rows, int n, float[] weight, float eps, float[] out) {
        for (int r = 0; r < rows; r++) {
            int o = xOff + r * stride;
            double sumSq = 0;
            for (int i = 0; i < n; i++) sumSq += (double) x[o + i] * x[o + i];
            float variance = (float) (sumSq / n);
            float inv = 1f / (float) Math.sqrt(variance + eps);
            for (int i = 0; i < n; i++) out[o + i] = weight[i] * (x[o + i] * inv);
        }
    }

    /**
     * torch {@code layer_norm} (biased variance): {@code (x * rstd + (-rstd * mean)) * w + b}, rows of
     * {@code n} values at {@code x[r * n]} written to {@code out[r * n]} ({@code out} may be {@code x}).
     */
    static void layerNorm(float[] x, int rows, int n, float[] weight, float[] bias, float eps, float[] out) {
        for (int r = 0; r < rows; r++) {
            int o = r * n;
            double sum = 0;
            for (int i = 0; i < n; i++) sum += x[o + i];
            double mean = sum / n;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                double d = x[o + i] - mean;
                sq += d * d;
            }
            float meanF = (float) mean;
            float rstd = 1f / (float) Math.sqrt((float) (sq / n) + eps);
            float shift = -rstd * meanF;
            for (int i = 0; i < n; i++) out[o + i] = (x[o + i] * rstd + shift) * weight[i] + bias[i];
        }
    }
}
