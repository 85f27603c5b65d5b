package io.lfmcap.cpu;

/**
 * Rotary position embedding as HF {@code Lfm2RotaryEmbedding} + {@code apply_rotary_pos_emb}: rotate-half
 * (NeoX) over pairs (i, i + d/2). Everything the reference does in fp32 is done in fp32 here:
 * {@code inv_freq[j] = 1 / theta^(2j/d)}, the angle {@code position * inv_freq[j]} is one fp32 product
 * (docs/model-lfm2-vl.md section 5: at position 1e4 that rounding is ~1e-3 rad and must be reproduced),
 * then cos/sin of that fp32 angle.
 */
final class Rope {
    private final float[] invFreq;

    Rope(int headDim, double theta) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("RoPE needs an even head dim, got " + headDim);
        invFreq = new float[headDim / 2];
        float base = (float) theta;
        for (int j = 0; j < invFreq.length; j++) {
            float exponent = (float) (2 * j) / (float) headDim;
            invFreq[j] = 1f / (float) Math.pow(base, exponent);
        }
    }

    int half() { return invFreq.length; }

    /** Fills {@code cos/sin[off, off + d/2)} for one position (the reference duplicates them over both halves). */
    void angles(int position, float[] cos, float[] sin, int off) {
        float pos = position;
        for (int j = 0; j < invFreq.length; j++) {
            float angle = pos * invFreq[j];
            cos[off + j] = (float) Math.cos(angle);
            sin[off + j] = (float) Math.sin(angle);
        }
    }

    /** In place on one head vector {@code x[xOff, xOff + d)}: {@code x*cos + rotate_half(x)*sin}. */
    void apply(float[] x, int xOff, float[] cos, float[] sin, int csOff) {
        int half = invFreq.length;
        for (int j = 0; j < half; j++) {
            float x1 = x[xOff + j];
            float x2 = x[xOff + half + j];
            float c = cos[csOff + j];
            float s = sin[csOff + j];
            x[xOff + j] = x1 * c + (-x2) * s;
            x[xOff + half + j] = x2 * c + x1 * s;
        }
    }
}
