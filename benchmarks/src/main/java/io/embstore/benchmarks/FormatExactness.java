package io.embstore.benchmarks;

import io.embstore.tools.ShortestFloatAccess;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Checks the exporter's float formatter against {@link Float#toString} on every one of the 2^32 float bit patterns:
 * the same characters, and nothing written past {@code MAX_CHARS}. The CI test ({@code ShortestFloatTest}) checks
 * tens of millions of random patterns and the edge cases; this whole-space check takes minutes of CPU, so it is run by
 * hand after any change to the formatter:
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
                byte[] buf = new byte[ShortestFloatAccess.MAX_CHARS + 1];
                for (int low = 0; low < 1 << 16; low++) {
                    check(Float.intBitsToFloat(high << 16 | low), buf);
                }
                checked.addAndGet(1 << 16);
            });
        } catch (IllegalStateException e) {
            System.err.println("FormatExactness: " + e.getMessage());
            System.exit(1);
        }
        System.out.printf("FormatExactness: all %d float bit patterns format as Float.toString does (%.0f s)%n",
                checked.get(), (System.nanoTime() - started) / 1e9);
    }

    private static void check(float v, byte[] buf) {
        buf[ShortestFloatAccess.MAX_CHARS] = 'x';
        int end = ShortestFloatAccess.write(v, buf, 0);
        String actual = new String(buf, 0, end, StandardCharsets.US_ASCII);
        String expected = Float.toString(v);
        if (!expected.equals(actual) || buf[ShortestFloatAccess.MAX_CHARS] != 'x') {
            throw new IllegalStateException("bits 0x" + Integer.toHexString(Float.floatToRawIntBits(v))
                    + ": Float.toString gives '" + expected + "', the formatter '" + actual + "'"
                    + (buf[ShortestFloatAccess.MAX_CHARS] != 'x' ? " and wrote past MAX_CHARS" : ""));
        }
    }
}
