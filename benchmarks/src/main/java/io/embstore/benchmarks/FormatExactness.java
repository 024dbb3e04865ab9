package io.embstore.benchmarks;

import io.embstore.formats.FloatParser;
import io.embstore.formats.ShortestFloat;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Checks the exporter's float formatter on every one of the 2^32 float bit patterns: the digits of
 * {@link Float#toString} laid out as NumPy writes a float32 ({@link #numpyLayout}), nothing written past
 * {@code MAX_CHARS}, and the text read back as the same bits by the converter's parser and (finite values) by
 * {@link Float#parseFloat}. The CI test ({@code ShortestFloatTest}) checks tens of millions of random patterns, the
 * edge cases and a real NumPy's output; this whole-space check takes minutes of CPU, so it is run by hand after any
 * change to the formatter:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.FormatExactness
 * </pre>
 * Prints one line with the count checked and exits 0, or names the first differing bit pattern and exits 1.
 */
public final class FormatExactness {
    private FormatExactness() {
    }

    public static void main(String[] args) {
        AtomicLong checked = new AtomicLong();
        long started = System.nanoTime();
        try {
            IntStream.range(0, 1 << 16).parallel().forEach(high -> {
                byte[] buf = new byte[ShortestFloat.MAX_CHARS + 1];
                FloatParser parser = new FloatParser();
                StringBuilder expected = new StringBuilder(32);
                for (int low = 0; low < 1 << 16; low++) {
                    check(Float.intBitsToFloat(high << 16 | low), buf, parser, expected);
                }
                checked.addAndGet(1 << 16);
            });
        } catch (IllegalStateException e) {
            System.err.println("FormatExactness: " + e.getMessage());
            System.exit(1);
        }
        System.out.printf("FormatExactness: all %d float bit patterns have Float.toString's digits in NumPy's layout"
                + " and read back as the same bits (%.0f s)%n", checked.get(), (System.nanoTime() - started) / 1e9);
    }

    private static void check(float v, byte[] buf, FloatParser parser, StringBuilder expected) {
        buf[ShortestFloat.MAX_CHARS] = 'x';
        int end = ShortestFloat.write(v, buf, 0);
        String text = Float.toString(v);
        numpyLayout(v, text, expected);
        boolean same = expected.length() == end;
        for (int i = 0; same && i < end; i++) {
            same = expected.charAt(i) == buf[i];
        }
        String problem = null;
        if (!same) {
            problem = "laid out as NumPy '" + expected + "'";
        } else if (buf[ShortestFloat.MAX_CHARS] != 'x') {
            problem = "wrote past MAX_CHARS";
        } else if (!Float.isNaN(v)) {
            int bits = Float.floatToRawIntBits(v);
            if (Float.floatToRawIntBits(parser.parse(buf, 0, end)) != bits) {
                problem = "the converter's parser reads it back as another float";
            } else if (Float.isFinite(v)
                    && Float.floatToRawIntBits(Float.parseFloat(new String(buf, 0, end, StandardCharsets.US_ASCII))) != bits) {
                problem = "Float.parseFloat reads it back as another float";
            }
        }
        if (problem != null) {
            throw new IllegalStateException("bits 0x" + Integer.toHexString(Float.floatToRawIntBits(v))
                    + ": Float.toString gives '" + text + "', the formatter '"
                    + new String(buf, 0, end, StandardCharsets.US_ASCII) + "': " + problem);
        }
    }

    /**
     * The layout, written from the rule rather than from the formatter: Float.toString's significant digits and
     * decimal exponent, positional for 1e-4 <= |v| < 1e6 and zero, else {@code d[.ddd]e+XX} (two exponent digits at
     * least); {@code nan}, {@code inf}, {@code -inf}.
     */
    static void numpyLayout(float v, String text, StringBuilder out) {
        out.setLength(0);
        if (Float.isNaN(v)) {
            out.append("nan");
            return;
        }
        int i = 0;
        if (text.charAt(0) == '-') {
            out.append('-');
            i = 1;
        }
        if (Float.isInfinite(v)) {
            out.append("inf");
            return;
        }
        if (v == 0) {
            out.append("0.0");
            return;
        }
        int ePos = text.indexOf('E');
        int exp = ePos < 0 ? 0 : Integer.parseInt(text, ePos + 1, text.length(), 10);
        int mantissaEnd = ePos < 0 ? text.length() : ePos;
        // The significant digits, without the point, leading and trailing zeros; lead is the first one's exponent.
        char[] digits = new char[16];
        int n = 0;
        int lead = 0;
        boolean seenPoint = false;
        int intDigits = text.indexOf('.') - i;
        for (int k = i; k < mantissaEnd; k++) {
            char c = text.charAt(k);
            if (c == '.') {
                seenPoint = true;
                continue;
            }
            if (n == 0 && c == '0') {
                continue;
            }
            if (n == 0) {
                lead = exp + (seenPoint ? -(k - i - intDigits) : intDigits - (k - i) - 1);
            }
            digits[n++] = c;
        }
        while (digits[n - 1] == '0') {
            n--;
        }
        double magnitude = Math.abs((double) v);
        if (magnitude >= 1e-4 && magnitude < 1e6) {
            if (lead < 0) {
                out.append("0.");
                for (int z = -1; z > lead; z--) {
                    out.append('0');
                }
                out.append(digits, 0, n);
            } else {
                for (int k = 0; k <= lead; k++) {
                    out.append(k < n ? digits[k] : '0');
                }
                out.append('.');
                if (n > lead + 1) {
                    out.append(digits, lead + 1, n - lead - 1);
                } else {
                    out.append('0');
                }
            }
            return;
        }
        out.append(digits[0]);
        if (n > 1) {
            out.append('.').append(digits, 1, n - 1);
        }
        out.append('e').append(lead < 0 ? '-' : '+');
        if (Math.abs(lead) < 10) {
            out.append('0');
        }
        out.append(Math.abs(lead));
    }
}
