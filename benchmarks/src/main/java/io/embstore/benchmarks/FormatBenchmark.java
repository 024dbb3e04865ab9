package io.embstore.benchmarks;

import io.embstore.formats.ShortestFloat;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Shortest round-tripping float32 formatting, the export's inner loop: one operation formats {@link #VALUES} floats
 * into a byte buffer, space-separated, as the exporter lays out a row block.
 *
 * <ul>
 * <li>{@code baselineFloatToString}: what the exporter did before, {@code StringBuilder.append(float)} (the JDK's
 *     {@code Float.toString} digits) and one {@code toString().getBytes(UTF_8)} per block;
 * <li>{@code baselineFloatToStringBytes}: {@code Float.toString(v)} then copying its chars as bytes, per value;
 * <li>{@code shortestFloat}: {@code ShortestFloat.write}, the same characters straight into the byte array.
 * </ul>
 * {@code values=glove} are embedding-like ({@code N(0, 0.4)}), {@code values=bits} random finite bit patterns
 * (every exponent, mostly 9-digit outputs in scientific notation). The checksum of the bytes is returned so nothing
 * is optimised away; setup checks that the two paths give the same bytes.
 *
 * <p>Run:
 * <pre>
 * mvn -q -B -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar FormatBenchmark -f 1 -wi 2 -w 1s -i 3 -r 2s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class FormatBenchmark {
    static final int VALUES = 3000;

    @Param({"glove", "bits"})
    public String values;

    private float[] data;
    private byte[] out;
    private final StringBuilder text = new StringBuilder();

    @Setup
    public void setup() {
        SplittableRandom rnd = new SplittableRandom(42);
        data = new float[VALUES];
        for (int i = 0; i < VALUES; i++) {
            if (values.equals("glove")) {
                data[i] = (float) (rnd.nextGaussian() * 0.4);
            } else {
                float f;
                do {
                    f = Float.intBitsToFloat(rnd.nextInt());
                } while (!Float.isFinite(f));
                data[i] = f;
            }
        }
        out = new byte[VALUES * (ShortestFloat.MAX_CHARS + 1)];
        // The two lay numbers out differently (ShortestFloat as NumPy writes a float32, 0.0005592 where Java writes
        // 5.592E-4), so the check is that every value reads back to its own bits.
        int n = fill();
        String[] fields = new String(out, 0, n, StandardCharsets.US_ASCII).strip().split(" ");
        if (fields.length != VALUES) {
            throw new IllegalStateException("ShortestFloat wrote " + fields.length + " values, expected " + VALUES);
        }
        for (int i = 0; i < VALUES; i++) {
            if (Float.floatToRawIntBits(Float.parseFloat(fields[i])) != Float.floatToRawIntBits(data[i])) {
                throw new IllegalStateException("ShortestFloat wrote " + fields[i] + " for " + data[i]);
            }
        }
    }

    @Benchmark
    public byte[] baselineFloatToString() {
        text.setLength(0);
        for (float v : data) {
            text.append(' ').append(v);
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Benchmark
    public int baselineFloatToStringBytes() {
        int pos = 0;
        for (float v : data) {
            out[pos++] = ' ';
            String s = Float.toString(v);
            for (int i = 0; i < s.length(); i++) {
                out[pos++] = (byte) s.charAt(i);
            }
        }
        return pos + out[pos - 1];
    }

    @Benchmark
    public int shortestFloat() {
        int n = fill();
        return n + out[n - 1];
    }

    private int fill() {
        int pos = 0;
        for (float v : data) {
            out[pos++] = ' ';
            pos = ShortestFloat.write(v, out, pos);
        }
        return pos;
    }
}
