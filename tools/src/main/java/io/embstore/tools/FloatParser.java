package io.embstore.tools;

import ch.randelshofer.fastdoubleparser.JavaFloatParser;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Parses decimal float tokens from bytes, correctly rounded: the result is bit for bit what
 * {@link Float#parseFloat} returns for the same token.
 *
 * <p>The common token of a vector file ({@code -0.00066023}, {@code 4.0071}, {@code 1.2345e-05}) has at most 7
 * significant digits and a small exponent. Then the digits {@code m <= 2^24} and {@code 10^|e| <= 10^10} are both exact
 * float32 values, and one IEEE division or multiplication rounds correctly (Clinger's fast path). Every other token goes
 * to fastdoubleparser's {@code JavaFloatParser}, which is correctly rounded for all inputs.
 *
 * <p>Accepted grammar: {@code [+-]? (digits [. digits?]? | . digits) ([eE] [+-]? digits)?}, and {@code nan},
 * {@code inf}, {@code infinity} in any case with an optional sign (as NumPy and C write them). Anything else is
 * rejected with a {@link NumberFormatException}.
 */
final class FloatParser {
    private static final float[] POW10 = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
    private static final long FAST_MANTISSA_LIMIT = 1L << 24;
    private static final int MAX_TOKEN = 1024;

    private final byte[] scratch = new byte[MAX_TOKEN];

    /**
     * Parses {@code seg[from, to)}.
     *
     * @throws NumberFormatException if the bytes are not a decimal float token
     */
    float parse(MemorySegment seg, long from, long to) {
        long i = from;
        if (i >= to) {
            throw new NumberFormatException("empty number");
        }
        boolean negative = false;
        byte c = seg.get(ValueLayout.JAVA_BYTE, i);
        if (c == '-' || c == '+') {
            negative = c == '-';
            i++;
        }
        long mantissa = 0;
        int digits = 0;
        int exponent = 0;
        boolean anyDigit = false;
        while (i < to) {
            c = seg.get(ValueLayout.JAVA_BYTE, i);
            int d = c - '0';
            if (d < 0 || d > 9) {
                break;
            }
            anyDigit = true;
            if (mantissa != 0 || d != 0) {
                if (digits < 18) {
                    mantissa = mantissa * 10 + d;
                    digits++;
                } else {
                    return slow(seg, from, to);
                }
            }
            i++;
        }
        if (i < to && c == '.') {
            i++;
            while (i < to) {
                c = seg.get(ValueLayout.JAVA_BYTE, i);
                int d = c - '0';
                if (d < 0 || d > 9) {
                    break;
                }
                anyDigit = true;
                if (mantissa != 0 || d != 0) {
                    if (digits < 18) {
                        mantissa = mantissa * 10 + d;
                        digits++;
                    } else {
                        return slow(seg, from, to);
                    }
                }
                exponent--;
                i++;
            }
        }
        if (!anyDigit) {
            return nonFinite(seg, from, to);
        }
        if (i < to) {
            if (c != 'e' && c != 'E') {
                throw invalid(seg, from, to);
            }
            i++;
            boolean negativeExponent = false;
            if (i < to) {
                c = seg.get(ValueLayout.JAVA_BYTE, i);
                if (c == '-' || c == '+') {
                    negativeExponent = c == '-';
                    i++;
                }
            }
            if (i >= to) {
                throw invalid(seg, from, to);
            }
            int e = 0;
            while (i < to) {
                int d = seg.get(ValueLayout.JAVA_BYTE, i) - '0';
                if (d < 0 || d > 9) {
                    throw invalid(seg, from, to);
                }
                if (e < 100_000) {
                    e = e * 10 + d;
                }
                i++;
            }
            exponent += negativeExponent ? -e : e;
        }
        if (mantissa == 0) {
            return negative ? -0.0f : 0.0f;
        }
        if (mantissa <= FAST_MANTISSA_LIMIT && exponent >= -10 && exponent <= 10) {
            float m = mantissa;
            float value = exponent < 0 ? m / POW10[-exponent] : m * POW10[exponent];
            return negative ? -value : value;
        }
        return slow(seg, from, to);
    }

    private float slow(MemorySegment seg, long from, long to) {
        int len = (int) Math.min(to - from, MAX_TOKEN);
        if (to - from > MAX_TOKEN) {
            // A real float token is never this long; parse it through a String rather than truncating it.
            return Float.parseFloat(text(seg, from, to));
        }
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, from, scratch, 0, len);
        return JavaFloatParser.parseFloat(scratch, 0, len);
    }

    private static float nonFinite(MemorySegment seg, long from, long to) {
        String t = text(seg, from, to).toLowerCase(java.util.Locale.ROOT);
        boolean negative = t.startsWith("-");
        String body = t.startsWith("-") || t.startsWith("+") ? t.substring(1) : t;
        switch (body) {
            case "nan":
                return Float.NaN;
            case "inf":
            case "infinity":
                return negative ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
            default:
                throw invalid(seg, from, to);
        }
    }

    private static NumberFormatException invalid(MemorySegment seg, long from, long to) {
        String t = text(seg, from, Math.min(to, from + 40));
        return new NumberFormatException("'" + t + (to - from > 40 ? "..." : "") + "' is not a number");
    }

    static String text(MemorySegment seg, long from, long to) {
        byte[] b = seg.asSlice(from, to - from).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
}
