package io.lfmcap.model;

/**
 * Conversions between fp32 and the two 16-bit float formats weights are stored in. Widening is exact;
 * narrowing rounds to nearest, ties to even (as torch's {@code .to(bfloat16/float16)}), overflows to
 * infinity and keeps NaN a (quiet) NaN.
 */
public final class FloatFormats {
    private FloatFormats() {}

    /** bfloat16 bits -> float (exact: bf16 is the top half of an fp32). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** float -> bfloat16 bits, round to nearest even. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40);
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** IEEE half bits -> float, exact (table lookup). */
    public static float f16ToFloat(short bits) {
        return HalfTable.VALUES[bits & 0xffff];
    }

    /** float -> IEEE half bits, round to nearest even (subnormal halves included). */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) // infinity or NaN
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        if (abs >= 0x477ff000) return (short) (sign | 0x7c00); // >= 65520 rounds to infinity
        if (abs >= 0x38800000) { // normal half (>= 2^-14): rebias exponent 127 -> 15, round 13 bits away
            int m = abs - 0x38000000;
            return (short) (sign | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13));
        }
        if (abs < 0x33000000) return (short) sign; // below 2^-25 (2^-25 itself ties to even 0)
        int exponent = abs >>> 23;
        int mantissa = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exponent; // value = mantissa * 2^-shift half-subnormal units of 2^-24
        int q = mantissa >>> shift;
        int rest = mantissa & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (q & 1) == 1)) q++;
        return (short) (sign | q);
    }

    /** Widens {@code n} bf16 values from {@code src[srcOff..]} into {@code dst[dstOff..]}. */
    public static void bf16ToFloat(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = Float.intBitsToFloat(src[srcOff + i] << 16);
    }

    /** Widens {@code n} half values from {@code src[srcOff..]} into {@code dst[dstOff..]}. */
    public static void f16ToFloat(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        float[] table = HalfTable.VALUES;
        for (int i = 0; i < n; i++) dst[dstOff + i] = table[src[srcOff + i] & 0xffff];
    }

    /** All 65,536 half values, built once on first use. */
    private static final class HalfTable {
        static final float[] VALUES = build();

        private static float[] build() {
            float[] v = new float[1 << 16];
            for (int h = 0; h < v.length; h++) v[h] = decode(h);
            return v;
        }

        private static float decode(int h) {
            int sign = (h & 0x8000) << 16;
            int exponent = (h >>> 10) & 0x1f;
            int mantissa = h & 0x3ff;
            if (exponent == 0) { // zero or subnormal: mantissa * 2^-24, exact in fp32
                float magnitude = mantissa * 0x1p-24f;
                return sign != 0 ? -magnitude : magnitude;
            }
            if (exponent == 31) return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
            return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
        }
    }
}
