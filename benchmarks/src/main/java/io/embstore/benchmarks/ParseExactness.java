package io.embstore.benchmarks;

import ch.randelshofer.fastdoubleparser.JavaFloatParser;
import io.embstore.formats.FloatParser;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import net.openhft.chronicle.bytes.Bytes;

/**
 * Counts, over several million decimal tokens, how often each parser's float differs bit for bit from
 * {@link Float#parseFloat} (the correctly rounded reference): embstore's {@code FloatParser} (both entry points),
 * fastdoubleparser's {@code JavaFloatParser}, and chronicle-bytes' {@code parseFloat()} and
 * {@code (float) parseDouble()}. Two more columns separate chronicle's causes: {@code chronicle parseDouble} counts its
 * double differing from {@link Double#parseDouble}, and {@code (float) Double.parseDouble} counts what double rounding
 * alone costs (a correctly rounded double, then cast). A parser that throws, or stops before the end of the token,
 * counts as a mismatch.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
 *     -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.ParseExactness [TOKENS_PER_SET] [SEED]
 * </pre>
 * Defaults: 1,000,000 tokens per set (8 sets), seed 1. Chronicle's heap {@code Bytes} need no --add-opens; the two
 * flags only silence the JDK warnings that chronicle's JNR/JNA dependencies trigger. Results:
 * {@code benchmarks/results/parse-chronicle.md}.
 */
public final class ParseExactness {
    private static final String[] PARSERS = {
        "embstore parse", "embstore parseField", "fastdoubleparser", "chronicle parseFloat",
        "chronicle (float)parseDouble", "chronicle parseDouble vs Double", "(float)Double.parseDouble"};

    private ParseExactness() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
        SplittableRandom r = new SplittableRandom(seed);
        List<Result> results = new ArrayList<>();
        results.add(run("random float bits, Float.toString", n, () -> randomFloatBits(r)));
        results.add(run("N(0,0.4) floats, Float.toString", n, () -> Float.toString((float) (r.nextGaussian() * 0.4))));
        results.add(run("N(0,0.4) doubles, Double.toString (float64 files)", n,
                () -> Double.toString(r.nextGaussian() * 0.4)));
        results.add(run("GloVe 5 significant digits", n, () -> fiveDigits(r)));
        results.add(run("long mantissas, 10-25 digits", n, () -> longMantissa(r)));
        results.add(run("subnormals", n, () -> subnormal(r)));
        results.add(run("extremes (MAX, MIN_NORMAL, MIN_VALUE, over/underflow)", n, () -> extreme(r)));
        results.add(run("near float midpoints (exact, +-1e-20 rel, 9-17 digits)", n, () -> nearMidpoint(r)));

        long total = 0;
        long[] sum = new long[PARSERS.length];
        System.out.printf(Locale.ROOT, "%n%-56s %9s", "token set", "tokens");
        for (String p : PARSERS) {
            System.out.printf(Locale.ROOT, " | %s", p);
        }
        System.out.println();
        for (Result res : results) {
            total += res.tokens;
            System.out.printf(Locale.ROOT, "%-56s %9d", res.name, res.tokens);
            for (int p = 0; p < PARSERS.length; p++) {
                sum[p] += res.mismatches[p];
                System.out.printf(Locale.ROOT, " | %" + PARSERS[p].length() + "d", res.mismatches[p]);
            }
            System.out.println();
        }
        System.out.printf(Locale.ROOT, "%-56s %9d", "all, per million tokens", total);
        for (int p = 0; p < PARSERS.length; p++) {
            System.out.printf(Locale.ROOT, " | %" + PARSERS[p].length() + ".1f", sum[p] * 1e6 / total);
        }
        System.out.println();
        System.out.println();
        for (Result res : results) {
            for (int p = 0; p < PARSERS.length; p++) {
                for (String e : res.examples.get(p)) {
                    System.out.printf(Locale.ROOT, "example [%s] %s: %s%n", res.name, PARSERS[p], e);
                }
            }
        }
    }

    private record Result(String name, long tokens, long[] mismatches, List<List<String>> examples) {
    }

    private static Result run(String name, int n, Supplier<String> gen) {
        // All tokens of the set in one buffer, separated by a blank, as in a vector file.
        String[] tokens = new String[n];
        StringBuilder sb = new StringBuilder(n * 12);
        for (int i = 0; i < n; i++) {
            tokens[i] = gen.get();
            sb.append(tokens[i]).append(' ');
        }
        byte[] buf = sb.toString().getBytes(StandardCharsets.US_ASCII);
        Bytes<byte[]> bytes = Bytes.wrapForRead(buf);
        FloatParser embstore = new FloatParser();
        long[] mismatches = new long[PARSERS.length];
        List<List<String>> examples = new ArrayList<>();
        for (int p = 0; p < PARSERS.length; p++) {
            examples.add(new ArrayList<>());
        }
        int pos = 0;
        for (int i = 0; i < n; i++) {
            String t = tokens[i];
            int s = pos;
            int e = s + t.length();
            pos = e + 1;
            float expected = Float.parseFloat(t);
            double expectedDouble = Double.parseDouble(t);
            String[] got = new String[PARSERS.length];
            got[0] = compare(expected, () -> embstore.parse(buf, s, e));
            got[1] = compare(expected, () -> {
                float v = embstore.parseField(buf, s, buf.length);
                return embstore.end() == e ? v : Float.NaN;
            });
            got[2] = compare(expected, () -> JavaFloatParser.parseFloat(buf, s, e - s));
            got[3] = compare(expected, () -> {
                bytes.readPositionRemaining(s, e - s);
                float v = bytes.parseFloat();
                return bytes.readRemaining() == 0 ? v : Float.NaN;
            });
            double[] chronicleDouble = new double[1];
            got[4] = compare(expected, () -> {
                bytes.readPositionRemaining(s, e - s);
                double d = bytes.parseDouble();
                chronicleDouble[0] = bytes.readRemaining() == 0 ? d : Double.NaN;
                return (float) chronicleDouble[0];
            });
            got[5] = Double.doubleToRawLongBits(chronicleDouble[0]) == Double.doubleToRawLongBits(expectedDouble)
                    ? null : chronicleDouble[0] + " (Double.parseDouble " + expectedDouble + ")";
            got[6] = compare(expected, () -> (float) expectedDouble);
            for (int p = 0; p < PARSERS.length; p++) {
                if (got[p] != null) {
                    mismatches[p]++;
                    if (examples.get(p).size() < 3) {
                        examples.get(p).add("'" + t + "' -> " + got[p]
                                + (p == 5 ? "" : " (Float.parseFloat " + expected + ")"));
                    }
                }
            }
        }
        return new Result(name, n, mismatches, examples);
    }

    private interface FloatCall {
        float get();
    }

    /** Null when the call returns exactly {@code expected}, else what it returned or threw. */
    private static String compare(float expected, FloatCall call) {
        try {
            float v = call.get();
            if (Float.floatToRawIntBits(v) == Float.floatToRawIntBits(expected)) {
                return null;
            }
            return Float.isNaN(v) && !Float.isNaN(expected) ? "NaN or stopped inside the token" : Float.toString(v);
        } catch (RuntimeException ex) {
            return ex.getClass().getSimpleName() + ": " + ex.getMessage();
        }
    }

    private static String randomFloatBits(SplittableRandom r) {
        while (true) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isFinite(f)) {
                return Float.toString(f);
            }
        }
    }

    private static String fiveDigits(SplittableRandom r) {
        byte[] b = new byte[32];
        int len = VectorFileGenerator.appendFiveDigits(b, 0, r.nextGaussian() * 0.4);
        return new String(b, 0, len, StandardCharsets.US_ASCII);
    }

    private static String longMantissa(SplittableRandom r) {
        int digits = 10 + r.nextInt(16);
        StringBuilder sb = new StringBuilder(digits + 3);
        if (r.nextBoolean()) {
            sb.append('-');
        }
        int point = r.nextInt(-3, 4); // digits before the point; <= 0 means leading zeros after "0."
        if (point <= 0) {
            sb.append("0.");
            sb.append("0".repeat(-point));
            point = -1;
        }
        for (int i = 0; i < digits; i++) {
            if (i == point) {
                sb.append('.');
            }
            sb.append((char) ('0' + (i == 0 ? 1 + r.nextInt(9) : r.nextInt(10))));
        }
        return sb.toString();
    }

    private static String subnormal(SplittableRandom r) {
        float f = Float.intBitsToFloat(1 + r.nextInt(0x7FFFFF));
        String sign = r.nextBoolean() ? "-" : "";
        return switch (r.nextInt(3)) {
            case 0 -> sign + Float.toString(f);
            case 1 -> sign + String.format(Locale.ROOT, "%." + r.nextInt(1, 17) + "e", (double) f);
            default -> sign + new BigDecimal(f).round(new MathContext(r.nextInt(1, 30))).toString();
        };
    }

    private static String extreme(SplittableRandom r) {
        double[] bases = {Float.MAX_VALUE, Float.MIN_NORMAL, Float.MIN_VALUE, 1e-40, 1e38};
        double x = bases[r.nextInt(bases.length)] * (0.25 + r.nextDouble() * 1.75);
        String sign = r.nextBoolean() ? "-" : "";
        return switch (r.nextInt(4)) {
            case 0 -> sign + String.format(Locale.ROOT, "%." + r.nextInt(0, 13) + "e", x);
            case 1 -> sign + new BigDecimal(x).round(new MathContext(r.nextInt(1, 25))).toString();
            case 2 -> sign + Float.toString((float) x);
            default -> sign + (r.nextBoolean() ? "1e" : "9.99e") + r.nextInt(-60, 60);
        };
    }

    private static String nearMidpoint(SplittableRandom r) {
        float f;
        do {
            f = Float.intBitsToFloat(r.nextInt(0x7F7FFFFF)); // finite, positive, below MAX_VALUE
        } while (f == 0);
        BigDecimal mid = new BigDecimal(((double) f + (double) Math.nextUp(f)) / 2); // exact in double
        String sign = r.nextBoolean() ? "-" : "";
        BigDecimal delta = mid.movePointLeft(20);
        return sign + switch (r.nextInt(4)) {
            case 0 -> mid.toString();
            case 1 -> mid.add(delta).round(new MathContext(40)).toString();
            case 2 -> mid.subtract(delta).round(new MathContext(40)).toString();
            default -> mid.round(new MathContext(r.nextInt(9, 18))).toString();
        };
    }
}
