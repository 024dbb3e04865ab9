package io.embstore.formats;

import java.math.BigInteger;

/**
 * Writes a float32 as ASCII bytes: the digits of {@link Float#toString(float)} (JDK 19 and later), the shortest
 * decimal that reads back as the same float, the one closest to the float's value when several are that short, laid
 * out as NumPy writes a float32 ({@code str} and {@code repr} of {@code np.float32}, NumPy 2): positional for
 * {@code 1e-4 <= |v| < 1e6} and for zero ({@code 0.0005592}, {@code 123456.79}, {@code 100.0}, {@code -0.0}),
 * scientific otherwise with at least two exponent digits ({@code 1e-05}, {@code 1.2345678e+07},
 * {@code 3.4028235e+38}), and {@code nan}, {@code inf}, {@code -inf}. So a file written by gensim or NumPy and
 * exported again diffs clean, and every reader of these files (ours, gensim, word2vec's and GloVe's C code) reads it.
 * The digits differ from NumPy's only for a few subnormals, where Java keeps two digits and NumPy one
 * ({@code 1.4e-45} against {@code 1e-45}; both read back as the same float).
 *
 * <p>Why not {@code Float.toString}: an export formats 120 million values, and each call there builds a String that
 * must then be encoded to bytes again; this writes the digits straight into the caller's buffer and allocates
 * nothing.
 *
 * <p>The digits come from Schubfach (Raffaello Giulietti, "The Schubfach way to render doubles", 2020), the algorithm
 * behind the JDK's own float formatting. The interval test in {@link #shortest} follows the paper's float32 case
 * and the shape of its reference implementation (the JDK's {@code FloatToDecimal}), written here from the paper;
 * the tables and the digit writing are this class's own. For
 * {@code v = c 2^q} it picks {@code k} with {@code 10^k} just below {@code 2^q}, computes {@code 4 v 10^-k} and the
 * two rounding-interval bounds {@code 4 (v -+ half an ulp) 10^-k} with one 64 x 64 bit multiplication each against a
 * 63-bit approximation of {@code 10^-k} (rounded to odd, which the paper shows is enough for 24-bit significands),
 * then keeps the shorter of the two decimal candidates that fall inside the interval, or the closer one.
 * The powers-of-ten table is computed exactly from {@link BigInteger} at class initialisation, not typed in.
 */
public final class ShortestFloat {
    /**
     * Bytes {@link #write} may touch past {@code pos}: the longest outputs are {@code -0.000123456789} and
     * {@code -1.2345678e-38}, 15 and 14 characters, but digits are stored eight at a time, which can write a few bytes
     * past the end of shorter outputs.
     */
    public static final int MAX_CHARS = 16;

    private static final int P = 24;
    private static final int Q_MIN = -149;
    private static final int Q_MAX = 104;
    private static final int C_MIN = 1 << (P - 1);
    /** Subnormal significands below this have too few digits for the interval test: they are scaled by 10 first. */
    private static final int C_TINY = 8;
    private static final int K_MIN = -45;
    private static final int K_MAX = 31;
    private static final long MASK_32 = 0xffff_ffffL;

    /** {@code floor(10^-k 2^(62 - floor(log2 10^-k))) + 1}, in [2^62, 2^63), for k in [K_MIN, K_MAX]. */
    private static final long[] G = new long[K_MAX - K_MIN + 1];
    /** {@code floor(log2 10^-k)} for k in [K_MIN, K_MAX]. */
    private static final int[] LOG2_POW10 = new int[K_MAX - K_MIN + 1];
    /** {@code floor(log10 2^q)} for q in [Q_MIN, Q_MAX]. */
    private static final int[] LOG10_POW2 = new int[Q_MAX - Q_MIN + 1];
    /** {@code floor(log10 (3/4) 2^q)} for q in [Q_MIN, Q_MAX]: the bound below a power of two is closer. */
    private static final int[] LOG10_THREE_QUARTERS_POW2 = new int[Q_MAX - Q_MIN + 1];
    /** G, the shift h and k of {@link #interval} by biased exponent, for the normal floats {@link #decimal} takes. */
    private static final long[] G_BY_BQ = new long[256];
    private static final int[] H_BY_BQ = new int[256];
    private static final int[] K_BY_BQ = new int[256];
    private static final int[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
        1_000_000_000};
    private static final java.lang.invoke.VarHandle LONG_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final byte[] NAN = {'n', 'a', 'n'};
    private static final byte[] INFINITY = {'i', 'n', 'f'};
    /** The bits of the least float32 not below 1e-4 (the float nearest 1e-4 is just below it, and NumPy compares exactly). */
    private static final int POSITIONAL_MIN_BITS = Float.floatToRawIntBits(Math.nextUp(1e-4f));
    /** The bits of 1e6f, exactly 10^6: NumPy writes a float32 from there up in scientific notation. */
    private static final int POSITIONAL_END_BITS = Float.floatToRawIntBits(1e6f);

    static {
        for (int k = K_MIN; k <= K_MAX; k++) {
            // 10^-k as the fraction num / den.
            BigInteger num = k <= 0 ? BigInteger.TEN.pow(-k) : BigInteger.ONE;
            BigInteger den = k <= 0 ? BigInteger.ONE : BigInteger.TEN.pow(k);
            int log2 = floorLog2(num, den);
            int shift = 62 - log2;
            BigInteger scaled = shift >= 0 ? num.shiftLeft(shift).divide(den) : num.divide(den.shiftLeft(-shift));
            G[k - K_MIN] = scaled.longValueExact() + 1;
            LOG2_POW10[k - K_MIN] = log2;
        }
        for (int q = Q_MIN; q <= Q_MAX; q++) {
            BigInteger pow2 = BigInteger.ONE.shiftLeft(Math.abs(q));
            LOG10_POW2[q - Q_MIN] = q >= 0 ? floorLog10(pow2, BigInteger.ONE) : floorLog10(BigInteger.ONE, pow2);
            // (3/4) 2^q = 3 2^(q-2)
            BigInteger pow2m2 = BigInteger.ONE.shiftLeft(Math.abs(q - 2));
            LOG10_THREE_QUARTERS_POW2[q - Q_MIN] = q - 2 >= 0
                    ? floorLog10(BigInteger.valueOf(3).multiply(pow2m2), BigInteger.ONE)
                    : floorLog10(BigInteger.valueOf(3), pow2m2);
        }
    }

    static {
        for (int bq = 1; bq < 255; bq++) {
            int q = bq + Q_MIN - 1;
            int k = LOG10_POW2[q - Q_MIN];
            K_BY_BQ[bq] = k;
            H_BY_BQ[bq] = q + LOG2_POW10[k - K_MIN] + 33;
            G_BY_BQ[bq] = G[k - K_MIN];
        }
    }

    private ShortestFloat() {
    }

    /** {@code floor(log2(num / den))} for positive num, den. */
    private static int floorLog2(BigInteger num, BigInteger den) {
        int e = num.bitLength() - den.bitLength();
        // 2^e <= num/den < 2^(e+2); step down once if num/den < 2^e.
        boolean below = e >= 0 ? num.compareTo(den.shiftLeft(e)) < 0 : num.shiftLeft(-e).compareTo(den) < 0;
        return below ? e - 1 : e;
    }

    /** {@code floor(log10(num / den))} for positive num, den. */
    private static int floorLog10(BigInteger num, BigInteger den) {
        int e = 0;
        while (lessThanPow10(num, den, e)) {
            e--;
        }
        while (!lessThanPow10(num, den, e + 1)) {
            e++;
        }
        return e;
    }

    /** {@code num / den < 10^e}. */
    private static boolean lessThanPow10(BigInteger num, BigInteger den, int e) {
        return e >= 0 ? num.compareTo(den.multiply(BigInteger.TEN.pow(e))) < 0
                : num.multiply(BigInteger.TEN.pow(-e)).compareTo(den) < 0;
    }

    /**
     * Writes {@code v} into {@code buf} at {@code pos} (at most {@link #MAX_CHARS} bytes) and returns the position
     * after it.
     *
     * <p>The common path is three methods each small enough for the JIT to inline into the caller's loop (this one,
     * {@link #decimal} and {@link #plain}; the earlier two large methods stayed calls), with the rare cases in methods
     * of their own, which costs less CPU per value (benchmarks/results/conversion.md, "Export, session 3").
     */
    public static int write(float v, byte[] buf, int pos) {
        int bits = Float.floatToRawIntBits(v);
        if ((bits & 0x7f80_0000) == 0x7f80_0000 || (bits & 0x7fff_ffff) == 0) {
            return special(bits, buf, pos);
        }
        // Branch-free: the sign of embedding weights is a coin toss, which a branch would mispredict half the time.
        buf[pos] = '-';
        pos += bits >>> 31;
        long fe = decimal(bits);
        int f = (int) (fe >>> 32);
        int e = (int) fe;
        // Decided on the float, not on its digits: 1e-4f is below 10^-4 and NumPy writes it "1e-04".
        int magnitude = bits & 0x7fff_ffff;
        boolean positional = magnitude >= POSITIONAL_MIN_BITS && magnitude < POSITIONAL_END_BITS;
        return plain(f, e, positional, buf, pos);
    }

    /** NaN, the infinities and the zeros. */
    private static int special(int bits, byte[] buf, int pos) {
        if ((bits & 0x7fff_ffff) == 0) {
            if (bits < 0) {
                buf[pos++] = '-';
            }
            buf[pos] = '0';
            buf[pos + 1] = '.';
            buf[pos + 2] = '0';
            return pos + 3;
        }
        if ((bits & (C_MIN - 1)) != 0) {
            System.arraycopy(NAN, 0, buf, pos, NAN.length);
            return pos + NAN.length;
        }
        if (bits < 0) {
            buf[pos++] = '-';
        }
        System.arraycopy(INFINITY, 0, buf, pos, INFINITY.length);
        return pos + INFINITY.length;
    }

    /**
     * The shortest decimal {@code f 10^e} of a finite, nonzero float's magnitude (the one closest to it when several
     * are that short), packed as {@code f << 32 | e}. The common case inline: a normal float that is not a power of
     * two and not in [1, 2^24), where it might be an integer.
     */
    private static long decimal(int bits) {
        int t = bits & (C_MIN - 1);
        int bq = (bits >>> (P - 1)) & 0xff;
        int mq = -Q_MIN + 1 - bq;
        if (bq == 0 || t == 0 || (0 < mq && mq < P)) {
            return decimalRare(bits);
        }
        // The tables by bq save a dependent load (q to k to g) on the path every value takes.
        return interval(C_MIN | t, G_BY_BQ[bq], H_BY_BQ[bq], K_BY_BQ[bq], 2, 0);
    }

    /** {@link #decimal} for subnormals, powers of two and the floats in [1, 2^24). */
    private static long decimalRare(int bits) {
        int t = bits & (C_MIN - 1);
        int bq = (bits >>> (P - 1)) & 0xff;
        if (bq == 0) {
            // Subnormal: too few digits for the interval test below C_TINY, which are scaled by 10 first.
            return t < C_TINY ? shortest(Q_MIN, 10 * t, LOG10_POW2[0], 2, -1) : shortest(Q_MIN, t, LOG10_POW2[0], 2, 0);
        }
        int mq = -Q_MIN + 1 - bq;
        int c = C_MIN | t;
        if (0 < mq && mq < P) {
            // An integer below 2^24 is its own shortest decimal.
            int f = c >> mq;
            if (f << mq == c) {
                return (long) f << 32;
            }
        }
        int q = -mq;
        if (c != C_MIN || q == Q_MIN) {
            return shortest(q, c, LOG10_POW2[q - Q_MIN], 2, 0);
        }
        // Just above a power of two the gap below is half the gap above.
        return shortest(q, c, LOG10_THREE_QUARTERS_POW2[q - Q_MIN], 1, 0);
    }

    /**
     * The shortest decimal in the rounding interval of {@code c 2^q}, whose lower half is {@code lower / 4} of an
     * ulp ({@code 10^k} just below {@code 2^q}; the result is scaled by {@code 10^-dk}), packed as {@link #decimal}.
     */
    private static long shortest(int q, int c, int k, int lower, int dk) {
        return interval(c, G[k - K_MIN], q + LOG2_POW10[k - K_MIN] + 33, k, lower, dk);
    }

    /** {@link #shortest} with {@code g = G[k]} and {@code h = q + floor(log2 10^-k) + 33} looked up. */
    private static long interval(int c, long g, int h, int k, int lower, int dk) {
        int out = c & 1;
        long cb = (long) c << 2;
        int vb = roundToOdd(g, cb << h);
        int vbl = roundToOdd(g, (cb - lower) << h);
        int vbr = roundToOdd(g, (cb + 2) << h);
        int s = vb >> 2;
        if (s >= 100) {
            // One digit fewer: s' = floor(s / 10), and its two multiples of ten around v.
            int sp10 = 10 * (int) (s * 1_717_986_919L >>> 34);
            int tp10 = sp10 + 10;
            boolean upin = vbl + out <= sp10 << 2;
            boolean wpin = (tp10 << 2) + out <= vbr;
            if (upin != wpin) {
                return (long) (upin ? sp10 : tp10) << 32 | (k & MASK_32);
            }
        }
        int tt = s + 1;
        boolean uin = vbl + out <= s << 2;
        boolean win = (tt << 2) + out <= vbr;
        int cmp = vb - ((s + tt) << 1);
        int f = uin != win ? (uin ? s : tt) : cmp < 0 || cmp == 0 && (s & 1) == 0 ? s : tt;
        return (long) f << 32 | ((k + dk) & MASK_32);
    }

    /** {@code floor(g cp / 2^95)}, with its lowest bit set when the division was inexact (round to odd). */
    private static int roundToOdd(long g, long cp) {
        long x1 = Math.multiplyHigh(g, cp);
        long vbp = x1 >>> 31;
        return (int) (vbp | ((x1 & MASK_32) + MASK_32) >>> 32);
    }

    /**
     * Writes {@code f 10^e} ({@code 0 < f < 10^9}) in NumPy's layout: positional when {@code positional} (the value is
     * in [10^-4, 10^6), so its leading digit's exponent is in [-4, 5]), the common case; scientific otherwise.
     */
    private static int plain(int f, int e, boolean positional, byte[] buf, int pos) {
        // f's digit count, from its bit length (1233 / 4096 is just above log10(2)), corrected once.
        int n = ((32 - Integer.numberOfLeadingZeros(f)) * 1233) >>> 12;
        if (f >= POW10[n]) {
            n++;
        }
        // Padded to exactly nine digits: the first one alone, the other eight as ASCII bytes in one long.
        int f9 = f * POW10[9 - n];
        int first = f9 / 100_000_000;
        long rest = eightDigits(f9 - first * 100_000_000);
        // Significant digits: the trailing '0' bytes of rest do not count.
        long values = rest - 0x3030303030303030L;
        int len = values == 0 ? 1 : 2 + ((63 - Long.numberOfLeadingZeros(values)) >>> 3);
        // The decimal exponent of the leading digit.
        int lead = e + n - 1;
        byte d0 = (byte) ('0' + first);
        if (!positional) {
            return scientific(d0, rest, len, lead, buf, pos);
        }
        if (lead < 0) {
            // "0.000000" in one store; the digits then overwrite it from the first significant one.
            LONG_LE.set(buf, pos, 0x3030_3030_3030_2e30L);
            int at = pos + 1 - lead;
            buf[at] = d0;
            LONG_LE.set(buf, at + 1, rest);
            return at + len;
        }
        return withIntegerPart(d0, rest, len, lead + 1, buf, pos);
    }

    /** {@code d0.rest} with the point after {@code intDigits} digits, for values in [1, 10^6). */
    private static int withIntegerPart(byte d0, long rest, int len, int intDigits, byte[] buf, int pos) {
        buf[pos] = d0;
        if (len <= intDigits) {
            // The padding zeros are the integer's own trailing zeros.
            LONG_LE.set(buf, pos + 1, rest);
            buf[pos + intDigits] = '.';
            buf[pos + intDigits + 1] = '0';
            return pos + intDigits + 2;
        }
        // The point goes after intDigits digits: after the first intDigits - 1 bytes of rest.
        int shift = 8 * (intDigits - 1);
        long low = rest & ((1L << shift) - 1);
        LONG_LE.set(buf, pos + 1, low | ((long) '.' << shift) | ((rest & -(1L << shift)) << 8));
        buf[pos + 9] = (byte) (rest >>> 56);
        return pos + len + 1;
    }

    /** {@code d0[.rest]e[+-]lead} with at least two exponent digits, NumPy's scientific layout. */
    private static int scientific(byte d0, long rest, int len, int lead, byte[] buf, int pos) {
        buf[pos] = d0;
        buf[pos + 1] = '.';
        LONG_LE.set(buf, pos + 2, rest);
        // A single digit has no point: "1e-05".
        pos += len == 1 ? 1 : len + 1;
        buf[pos++] = 'e';
        buf[pos++] = lead < 0 ? (byte) '-' : (byte) '+';
        lead = Math.abs(lead);
        buf[pos] = (byte) ('0' + lead / 10);
        buf[pos + 1] = (byte) ('0' + lead % 10);
        return pos + 2;
    }

    /**
     * The eight decimal digits of {@code x < 10^8}, leading zeros included, as ASCII bytes in a long whose lowest
     * byte is the first digit (so a little-endian store writes them in order). Two 4-digit halves in 32-bit lanes
     * are split into 2-digit quarters in 16-bit lanes and those into digits in bytes, by multiplications by
     * reciprocals that are exact in these ranges (x / 100 = x 10486 >> 20 for x < 10^4, x / 10 = x 103 >> 10 for
     * x < 100).
     */
    private static long eightDigits(int x) {
        int high = x / 10_000;
        long halves = high | ((long) (x - high * 10_000) << 32);
        long hundreds = ((halves * 10486) >>> 20) & 0x0000007F0000007FL;
        long quarters = ((halves - 100 * hundreds) << 16) + hundreds;
        long tens = ((quarters * 103) >>> 10) & 0x000F000F000F000FL;
        long digits = tens + ((quarters - 10 * tens) << 8);
        return digits + 0x3030303030303030L;
    }
}
