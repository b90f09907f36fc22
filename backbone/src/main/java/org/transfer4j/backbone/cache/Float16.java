package org.transfer4j.backbone.cache;

/**
 * IEEE 754 binary16 conversions for the {@code f16} cache dtype. Java 17 has neither {@code Float.floatToFloat16}
 * nor {@code Float.float16ToFloat} (both arrived in Java 20), so they are written out here with the same results:
 * round to nearest, ties to even; overflow to infinity; subnormals kept; NaN stays NaN (quiet, payload's top bits
 * kept).
 */
public final class Float16 {
    private Float16() {
    }

    /** The binary16 value nearest to {@code f} (ties to even), as its 16 bits. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7F_FFFF;
        if (exp == 0xFF) {
            if (mant == 0) {
                return (short) (sign | 0x7C00);
            }
            // NaN: keep the top payload bits and force the quiet bit so it cannot turn into infinity.
            return (short) (sign | 0x7C00 | 0x0200 | (mant >>> 13));
        }
        int e = exp - 127 + 15; // rebias
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00); // too large even before rounding
        }
        if (e <= 0) {
            // Subnormal half (or zero): shift the full 24-bit significand right, rounding ties to even.
            if (e < -10) {
                return (short) sign; // below half of the smallest subnormal: rounds to zero
            }
            int m = mant | 0x80_0000; // implicit leading bit
            int shift = 14 - e; // 24-bit significand -> 10-bit subnormal field, shift in 14..24
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (half & 1) != 0)) {
                half++; // may carry into the smallest normal exponent, which is the right answer
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++; // a carry out of the mantissa bumps the exponent; past the largest finite value it gives infinity
        }
        return (short) (sign | half);
    }

    /** The float equal to the binary16 value {@code h} (exact: every half is a float). */
    public static float toFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal: value = mant * 2^-24, exact in float.
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
