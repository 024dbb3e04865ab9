package io.embstore.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FloatParserTest {
    private final FloatParser parser = new FloatParser();

    private float parse(String token) {
        byte[] b = token.getBytes(StandardCharsets.US_ASCII);
        return parser.parse(b, 0, b.length);
    }

    private final byte[] line = new byte[256];
    private final SplittableRandom filler = new SplittableRandom(11);

    /**
     * parseField on the token inside a larger buffer, as the converter calls it: followed by a separator and more
     * text, or ending at {@code limit} with digits (stale bytes) right after it, which must not be read.
     */
    private void sameInLine(String token, float expected) {
        byte[] t = token.getBytes(StandardCharsets.US_ASCII);
        int from = filler.nextInt(0, 8);
        System.arraycopy(t, 0, line, from, t.length);
        int after = from + t.length;
        int limit;
        switch (filler.nextInt(4)) {
            case 0 -> {
                line[after] = ' ';
                line[after + 1] = '5';
                limit = after + 2;
            }
            case 1 -> {
                line[after] = '\r';
                limit = after + 1;
            }
            case 2 -> {
                line[after] = '\t';
                limit = after + 1;
            }
            default -> limit = after;
        }
        for (int i = limit; i < line.length; i++) {
            line[i] = (byte) (filler.nextBoolean() ? '0' + filler.nextInt(10) : '.');
        }
        float got = parser.parseField(line, from, limit);
        if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(got) || parser.end() != after) {
            throw new AssertionError("token '" + token + "' in a line: expected " + expected + " ending at " + after
                    + ", parseField gives " + got + " ending at " + parser.end());
        }
    }

    private void same(String token) {
        float expected = Float.parseFloat(token);
        if (token.length() < 200) {
            sameInLine(token, expected);
        }
        float actual = parse(token);
        byte[] field = (token + (token.length() % 2 == 0 ? " 7" : "")).getBytes(StandardCharsets.US_ASCII);
        float asField = parser.parseField(field, 0, field.length);
        assertEquals(token.length(), parser.end(), token);
        assertEquals(Float.floatToRawIntBits(actual), Float.floatToRawIntBits(asField), token);
        if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
            throw new AssertionError("token '" + token + "': Float.parseFloat gives " + expected + " ("
                    + Integer.toHexString(Float.floatToRawIntBits(expected)) + "), FloatParser gives " + actual + " ("
                    + Integer.toHexString(Float.floatToRawIntBits(actual)) + ")");
        }
    }

    @Test
    void edgeCases() {
        String[] tokens = {"0", "-0", "0.0", "-0.0", "+1", "1", "1.", ".5", "-.5", "1e-45", "1.4e-45", "7e-46", "8e-46",
            "1.401298464324817e-45", "1.1754942e-38", "1.17549435e-38", "1.1754944e-38", "3.4028235e38", "3.4028236e38",
            "3.4028235677973366e38", "3.5e38", "1e39", "-1e39", "1e-50", "16777216", "16777217", "16777218", "0.1",
            "0.30000001", "-0.00066023", "4.0071", "1.2345e-05", "1E10", "1e+10", "1e-10", "9999999999", "12345678",
            "123456789", "0.123456789012345678901234567890", "100000000000000000000000", "0.000000000000000000001",
            "2.5e-8", "1.00000005960464477539062499", "1.00000005960464477539062500", "1.00000005960464477539062501",
            "00000.1000000", "1e0", "1e-0", "-3.4028235e38", "6.103515625e-05", "5.960464477539063e-08",
            "0.12345", "-0.12345", "0.1234567", "0.12345678", "1234567.1234567", "12345678.1", "1234567.12345678",
            "16777216.0", "16777217.0", "1677721.6", "1677721.7", "167772.17", "9999999", "99999999", "-0.0000001",
            "0.00000001", "7.", "-.5", "0.", "-0", "12.5e1", "1.5E-3"};
        for (String t : tokens) {
            same(t);
        }
        assertEquals(Float.NaN, parse("nan"));
        assertEquals(Float.NaN, parse("NaN"));
        assertEquals(Float.POSITIVE_INFINITY, parse("inf"));
        assertEquals(Float.NEGATIVE_INFINITY, parse("-Infinity"));
        assertEquals(Float.POSITIVE_INFINITY, parse("+INF"));
    }

    @Test
    void rejectsWhatIsNotADecimalNumber() {
        for (String bad : new String[] {"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "abc", "0x1p3", "1f", " 1",
            "1 ", "--1", "1e5.5", "nana", "infinit"}) {
            byte[] b = bad.getBytes(StandardCharsets.US_ASCII);
            assertThrows(NumberFormatException.class, () -> parser.parse(b, 0, b.length), "'" + bad + "'");
        }
    }

    /** Millions of random tokens in the shapes vector files use, each compared bit for bit with Float.parseFloat. */
    @Test
    void agreesWithFloatParseFloatOnMillionsOfRandomTokens() {
        String fixed = System.getenv("EMBSTORE_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
        System.out.println("FloatParserTest seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < 2_000_000; n++) {
            String token;
            switch (n % 5) {
                case 0 -> token = Float.toString(Float.intBitsToFloat(rnd.nextInt()));
                case 1 -> token = String.format(Locale.ROOT, "%." + rnd.nextInt(1, 12) + "g", rnd.nextGaussian() * 0.4);
                case 2 -> token = Float.toString((float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-40, 39))));
                case 3 -> {
                    sb.setLength(0);
                    if (rnd.nextBoolean()) {
                        sb.append('-');
                    }
                    int digits = rnd.nextInt(1, 26);
                    int point = rnd.nextInt(0, digits + 1);
                    for (int d = 0; d < digits; d++) {
                        if (d == point) {
                            sb.append('.');
                        }
                        sb.append((char) ('0' + rnd.nextInt(10)));
                    }
                    if (rnd.nextInt(3) == 0) {
                        sb.append(rnd.nextBoolean() ? 'e' : 'E').append(rnd.nextInt(-60, 60));
                    }
                    token = sb.toString();
                }
                default -> {
                    // Near float32 rounding midpoints: a float's exact decimal expansion, nudged.
                    float f = Float.intBitsToFloat(rnd.nextInt() & 0x7fffffff);
                    if (!Float.isFinite(f)) {
                        continue;
                    }
                    double mid = (f + (double) Math.nextUp(f)) / 2;
                    token = new java.math.BigDecimal(mid).round(new java.math.MathContext(rnd.nextInt(9, 30))).toString();
                }
            }
            if (token.contains("Infinity") || token.contains("NaN")) {
                continue;
            }
            same(token);
        }
    }

    /**
     * Whole lines as the converter reads them, each value compared bit for bit with Float.parseFloat: lines of plain
     * numbers with single spaces (read by LineParser's two-step path) and the same lines with a tab or a double space,
     * or with one token outside the plain shape (read field by field), with stale digits after the line's end.
     */
    @Test
    void linesReadAsFloatParseFloatWhicheverPathTheyTake() throws LineParser.MalformedLine {
        String fixed = System.getenv("EMBSTORE_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
        System.out.println("FloatParserTest lines seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < 20_000; n++) {
            int dim = rnd.nextInt(1, 40);
            String[] tokens = new String[dim];
            for (int k = 0; k < dim; k++) {
                sb.setLength(0);
                if (rnd.nextBoolean()) {
                    sb.append('-');
                }
                // Mostly up to 7 digits a side (the plain shape), sometimes 8 (not).
                int whole = rnd.nextInt(100) == 0 ? 8 : rnd.nextInt(0, 8);
                int fraction = rnd.nextInt(100) == 0 ? 8 : rnd.nextInt(0, 8);
                for (int d = 0; d < whole; d++) {
                    sb.append((char) ('0' + rnd.nextInt(10)));
                }
                if (fraction > 0 || whole == 0 || rnd.nextInt(4) == 0) {
                    sb.append('.');
                }
                for (int d = 0; d < fraction || whole + fraction == 0; d++) {
                    sb.append((char) ('0' + rnd.nextInt(10)));
                    fraction = Math.max(fraction, 1);
                }
                if (rnd.nextInt(200) == 0) {
                    sb.append('e').append(rnd.nextInt(-9, 9));
                }
                tokens[k] = sb.toString();
            }
            String separator = switch (rnd.nextInt(20)) {
                case 0 -> "\t";
                case 1 -> "  ";
                default -> " ";
            };
            String word = rnd.nextInt(10) == 0 ? "w\u00f6rd" + n : "w" + n;
            String text = word + " " + String.join(rnd.nextBoolean() ? " " : separator, tokens);
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            byte[] buf = new byte[bytes.length + 1 + 64];
            System.arraycopy(bytes, 0, buf, 0, bytes.length);
            for (int i = bytes.length; i < buf.length; i++) {
                buf[i] = (byte) ('0' + rnd.nextInt(10));
            }
            buf[bytes.length] = (byte) (rnd.nextBoolean() ? '\n' : '7');
            LineParser lp = new LineParser(dim, false);
            int wordEnd = lp.parse(buf, 0, bytes.length);
            assertEquals(word.getBytes(StandardCharsets.UTF_8).length, wordEnd, text);
            for (int k = 0; k < dim; k++) {
                float expected = Float.parseFloat(tokens[k]);
                if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(lp.values()[k])) {
                    throw new AssertionError("line '" + text + "' value " + (k + 1) + " '" + tokens[k]
                            + "': Float.parseFloat gives " + expected + ", LineParser " + lp.values()[k]);
                }
            }
        }
    }
}
