package io.embstore.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * ShortestFloat against the JDK: the very characters of {@link Float#toString(float)}, which also means the shortest
 * decimal that {@link Float#parseFloat} reads back as the same bits (checked too, independently).
 */
class ShortestFloatTest {
    private final byte[] buf = new byte[ShortestFloat.MAX_CHARS + 4];

    /** Fails with the bits, both strings and the round trip, if {@code v} formats differently from the JDK. */
    private static void same(float v, byte[] buf) {
        String actual = sameAsToString(v, buf);
        if (!Float.isNaN(v) && Float.floatToRawIntBits(Float.parseFloat(actual)) != Float.floatToRawIntBits(v)) {
            throw new AssertionError("'" + actual + "' does not read back as 0x" + Integer.toHexString(Float.floatToRawIntBits(v)));
        }
    }

    /** Fails unless {@code v} formats as Float.toString does, touching no byte past MAX_CHARS; returns the text. */
    private static String sameAsToString(float v, byte[] buf) {
        buf[3 + ShortestFloat.MAX_CHARS] = 'x';
        int end = ShortestFloat.write(v, buf, 3);
        String actual = new String(buf, 3, end - 3, StandardCharsets.US_ASCII);
        String expected = Float.toString(v);
        if (!expected.equals(actual)) {
            throw new AssertionError("bits 0x" + Integer.toHexString(Float.floatToRawIntBits(v)) + ": Float.toString gives '"
                    + expected + "', ShortestFloat '" + actual + "'");
        }
        if (buf[3 + ShortestFloat.MAX_CHARS] != 'x') {
            throw new AssertionError("writing '" + actual + "' touched a byte past MAX_CHARS");
        }
        return actual;
    }

    @Test
    void edgeCases() {
        List<Float> values = new ArrayList<>(List.of(0.0f, -0.0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL), Math.nextUp(Float.MIN_NORMAL),
                Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1.0f, -1.0f, 0.1f, 0.001f, 9.999999e-4f, 1e7f,
                9999999.0f, 1.0E7f, 16777216f, 16777217f, 3.4028235e38f, 1.4e-45f, 2.8e-45f, 1.17549435e-38f, 0.3f, 2e-3f,
                123456.79f, 1234567.9f, -0.00066023f, 4.0071f, 1.2345e-05f, 0.12345f, -0.98765f, 7.0E-45f, 8.4E-45f));
        for (int e = -45; e <= 38; e++) {
            float p = Float.parseFloat("1e" + e);
            values.add(p);
            values.add(Math.nextUp(p));
            values.add(Math.nextDown(p));
        }
        for (int e = -149; e <= 127; e++) {
            float p = Math.scalb(1.0f, e);
            values.add(p);
            values.add(Math.nextUp(p));
            values.add(Math.nextDown(p));
            values.add(-p);
        }
        for (int t = 1; t < 4096; t++) {
            values.add(Float.intBitsToFloat(t));
        }
        for (float v : values) {
            same(v, buf);
        }
        assertEquals(4, ShortestFloat.write(-0.0f, buf, 0), "-0.0 is four characters");
    }

    /**
     * Tens of millions of random bit patterns (every exponent equally likely, as NaNs and infinities too) and of
     * values shaped like embedding weights.
     */
    @Test
    void agreesWithFloatToStringOnRandomBitPatterns() {
        String fixed = System.getenv("EMBSTORE_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
        System.out.println("ShortestFloatTest seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        SplittableRandom root = new SplittableRandom(seed);
        int parts = 16;
        long[] seeds = new long[parts];
        for (int i = 0; i < parts; i++) {
            seeds[i] = root.nextLong();
        }
        IntStream.range(0, parts).parallel().forEach(part -> {
            SplittableRandom rnd = new SplittableRandom(seeds[part]);
            byte[] b = new byte[ShortestFloat.MAX_CHARS + 4];
            for (int n = 0; n < 1_250_000; n++) {
                same(Float.intBitsToFloat(rnd.nextInt()), b);
                same((float) (rnd.nextGaussian() * 0.4), b);
            }
        });
    }
}
