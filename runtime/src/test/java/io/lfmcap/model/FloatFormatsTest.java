package io.lfmcap.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FloatFormatsTest {
    @Test
    void everyHalfSurvivesWidenAndNarrow() {
        for (int h = 0; h < 1 << 16; h++) {
            float f = FloatFormats.f16ToFloat((short) h);
            if (Float.isNaN(f)) continue;
            assertEquals((short) h, FloatFormats.floatToF16(f), "half bits " + Integer.toHexString(h));
        }
    }

    @Test
    void halfDecodesKnownValues() {
        assertEquals(1.0f, FloatFormats.f16ToFloat((short) 0x3c00));
        assertEquals(-2.0f, FloatFormats.f16ToFloat((short) 0xc000));
        assertEquals(65504f, FloatFormats.f16ToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, FloatFormats.f16ToFloat((short) 0x0001), "smallest subnormal");
        assertEquals(Float.POSITIVE_INFINITY, FloatFormats.f16ToFloat((short) 0x7c00));
        assertTrue(Float.isNaN(FloatFormats.f16ToFloat((short) 0x7e00)));
    }

    @Test
    void halfRoundsToNearestEven() {
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0)
        assertEquals((short) 0x3c00, FloatFormats.floatToF16(1f + 0x1p-11f));
        // 1 + 3*2^-11 lies halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up
        assertEquals((short) 0x3c02, FloatFormats.floatToF16(1f + 3 * 0x1p-11f));
        assertEquals((short) 0x7c00, FloatFormats.floatToF16(65520f), "65520 rounds to infinity");
        assertEquals((short) 0x7bff, FloatFormats.floatToF16(65519f));
        assertEquals((short) 0x0000, FloatFormats.floatToF16(0x1p-25f), "half the smallest subnormal ties to zero");
        assertEquals((short) 0x0001, FloatFormats.floatToF16(0x1.8p-25f));
    }

    @Test
    void bf16IsTheTopHalfOfFloat() {
        assertEquals(1.0f, FloatFormats.bf16ToFloat((short) 0x3f80));
        assertEquals(-3.0f, FloatFormats.bf16ToFloat((short) 0xc040));
        for (int b = 0; b < 1 << 16; b += 7) {
            float f = FloatFormats.bf16ToFloat((short) b);
            if (!Float.isNaN(f)) assertEquals((short) b, FloatFormats.floatToBf16(f));
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, FloatFormats.floatToBf16(1f + 0x1p-8f), "tie goes to even 1.0");
        assertEquals((short) 0x3f82, FloatFormats.floatToBf16(1f + 3 * 0x1p-8f), "tie goes to even 1+2^-6");
        assertEquals((short) 0x3f81, FloatFormats.floatToBf16(1f + 0x1.2p-8f), "above the tie rounds up");
        assertTrue(Float.isNaN(FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(Float.NaN))));
        assertEquals((short) 0x7f80, FloatFormats.floatToBf16(Float.MAX_VALUE), "overflow rounds to infinity");
    }
}
