package io.embstore.formats;

import ch.randelshofer.fastdoubleparser.JavaFloatParser;

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
public final class FloatParser {
    static final float[] POW10 = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
    private static final long FAST_MANTISSA_LIMIT = 1L << 24;
    static final long[] LONG_POW10 = {1L, 10L, 100L, 1_000L, 10_000L, 100_000L, 1_000_000L, 10_000_000L};
    private static final java.lang.invoke.VarHandle LONG_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    /** Where the last {@link #parseField} stopped: the blank after the number, or the limit. */
    private int end;

    /** Where the last {@link #parseField} stopped: the blank after the number, or the limit. */
    public int end() {
        return end;
    }

    /**
     * Parses the number that starts at {@code from} and runs to the next space, tab or carriage return (or
     * {@code limit}), in one pass over its bytes; {@link #end()} tells where it stopped. The plain decimal token
     * takes the fast path here; everything else (exponents, long mantissas, non-finite words, garbage) goes through
     * {@link #parse} on the token's bounds.
     *
     * @throws NumberFormatException if the field is not a decimal float token
     */
    public float parseField(byte[] buf, int from, int limit) {
        // The common token, [-]digits[.digits] with at most 7 digits on either side, eight bytes at a time.
        if (from < limit && from + 2 * Long.BYTES + 2 <= buf.length) {
            // Branch-free sign: in a vector file it is a coin toss, which a branch would mispredict half the time.
            int negative = (((buf[from] & 0xff) ^ '-') - 1) >>> 31;
            int i = from + negative;
            long w = (long) LONG_LE.get(buf, i);
            int ni = Math.min(digitRun(w), limit - i);
            if (ni < Long.BYTES) {
                int j = i + ni;
                long mantissa = digits(w, ni);
                int nf = 0;
                boolean ok = ni > 0;
                if (j < limit && buf[j] == '.') {
                    j++;
                    long f = (long) LONG_LE.get(buf, j);
                    nf = Math.min(digitRun(f), limit - j);
                    ok = nf < Long.BYTES && (ni > 0 || nf > 0);
                    mantissa = mantissa * LONG_POW10[nf & 7] + digits(f, nf & 7);
                    j += nf;
                }
                if (ok && mantissa <= FAST_MANTISSA_LIMIT
                        && (j == limit || buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\r')) {
                    end = j;
                    float value = mantissa / POW10[nf];
                    return Float.intBitsToFloat(Float.floatToRawIntBits(value) | negative << 31);
                }
            }
        }
        return parseFieldScalar(buf, from, limit);
    }

    /** How many of the eight bytes of {@code w} (little-endian, first byte lowest) lead with ASCII digits. */
    static int digitRun(long w) {
        // A byte outside '0'..'9' gets its high bit set by one of the two sums; carries and borrows only run upward,
        // from the first such byte, so the lowest flag is exact.
        long flags = ((w + 0x4646464646464646L) | (w - 0x3030303030303030L)) & 0x8080808080808080L;
        return Long.numberOfTrailingZeros(flags) >>> 3;
    }

    /** The value of the first {@code n < 8} bytes of {@code w} as ASCII digits, the first in the lowest byte. */
    static long digits(long w, int n) {
        if (n == 0) {
            return 0;
        }
        // Borrows run upward, so the low n bytes are exact digit values; shifting them to the top leaves zero
        // bytes below, which read as leading zeros. Then pairs, quads and the eight are combined by multiplication.
        long v = (w - 0x3030303030303030L) << (8 * (Long.BYTES - n));
        v = v * 10 + (v >>> 8);
        return ((v & 0x000000FF000000FFL) * (100 + (1000000L << 32))
                + ((v >>> 16) & 0x000000FF000000FFL) * (1 + (10000L << 32))) >>> 32;
    }

    private float parseFieldScalar(byte[] buf, int from, int limit) {
        int i = from;
        boolean negative = false;
        if (i < limit) {
            byte c = buf[i];
            if (c == '-') {
                negative = true;
                i++;
            } else if (c == '+') {
                i++;
            }
        }
        long mantissa = 0;
        int digits = 0;
        int exponent = 0;
        boolean anyDigit = false;
        while (i < limit) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                break;
            }
            anyDigit = true;
            if ((mantissa | d) != 0) {
                if (digits == 18) {
                    return general(buf, from, limit);
                }
                mantissa = mantissa * 10 + d;
                digits++;
            }
            i++;
        }
        if (i < limit && buf[i] == '.') {
            i++;
            while (i < limit) {
                int d = buf[i] - '0';
                if (d < 0 || d > 9) {
                    break;
                }
                anyDigit = true;
                if ((mantissa | d) != 0) {
                    if (digits == 18) {
                        return general(buf, from, limit);
                    }
                    mantissa = mantissa * 10 + d;
                    digits++;
                }
                exponent--;
                i++;
            }
        }
        if (!anyDigit || exponent < -10 || mantissa > FAST_MANTISSA_LIMIT
                || i < limit && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r') {
            return general(buf, from, limit);
        }
        end = i;
        float value = mantissa == 0 ? 0.0f : mantissa / POW10[-exponent];
        return negative ? -value : value;
    }

    private float general(byte[] buf, int from, int limit) {
        int tokenEnd = from;
        while (tokenEnd < limit && buf[tokenEnd] != ' ' && buf[tokenEnd] != '\t' && buf[tokenEnd] != '\r') {
            tokenEnd++;
        }
        end = tokenEnd;
        return parse(buf, from, tokenEnd);
    }

    /**
     * Parses {@code buf[from, to)}.
     *
     * @throws NumberFormatException if the bytes are not a decimal float token
     */
    public float parse(byte[] buf, int from, int to) {
        int i = from;
        if (i >= to) {
            throw new NumberFormatException("empty number");
        }
        boolean negative = false;
        byte c = buf[i];
        if (c == '-' || c == '+') {
            negative = c == '-';
            i++;
        }
        long mantissa = 0;
        int digits = 0;
        int exponent = 0;
        boolean anyDigit = false;
        while (i < to) {
            c = buf[i];
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
                    return slow(buf, from, to);
                }
            }
            i++;
        }
        if (i < to && c == '.') {
            i++;
            while (i < to) {
                c = buf[i];
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
                        return slow(buf, from, to);
                    }
                }
                exponent--;
                i++;
            }
        }
        if (!anyDigit) {
            return nonFinite(buf, from, to);
        }
        if (i < to) {
            if (c != 'e' && c != 'E') {
                throw invalid(buf, from, to);
            }
            i++;
            boolean negativeExponent = false;
            if (i < to) {
                c = buf[i];
                if (c == '-' || c == '+') {
                    negativeExponent = c == '-';
                    i++;
                }
            }
            if (i >= to) {
                throw invalid(buf, from, to);
            }
            int e = 0;
            while (i < to) {
                int d = buf[i] - '0';
                if (d < 0 || d > 9) {
                    throw invalid(buf, from, to);
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
        return slow(buf, from, to);
    }

    private static float slow(byte[] buf, int from, int to) {
        return JavaFloatParser.parseFloat(buf, from, to - from);
    }

    private static float nonFinite(byte[] buf, int from, int to) {
        String t = text(buf, from, to).toLowerCase(java.util.Locale.ROOT);
        boolean negative = t.startsWith("-");
        String body = t.startsWith("-") || t.startsWith("+") ? t.substring(1) : t;
        switch (body) {
            case "nan":
                return Float.NaN;
            case "inf":
            case "infinity":
                return negative ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
            default:
                throw invalid(buf, from, to);
        }
    }

    private static NumberFormatException invalid(byte[] buf, int from, int to) {
        String t = text(buf, from, Math.min(to, from + 40));
        return new NumberFormatException("'" + t + (to - from > 40 ? "..." : "") + "' is not a number");
    }

    static String text(byte[] buf, int from, int to) {
        return new String(buf, from, to - from, java.nio.charset.StandardCharsets.UTF_8);
    }
}
