package io.embstore.benchmarks;

import ch.randelshofer.fastdoubleparser.JavaFloatParser;
import io.embstore.formats.FloatParser;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.MappedBytes;
import net.openhft.chronicle.bytes.StopCharTesters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decimal-token parsing throughput over the same ~1 MB of GloVe-shaped text ({@link ParseData#glove}: 400 lines of
 * a word and 300 five-significant-digit values, {@code -0.00066023 0.24968 ...}). One operation parses every value
 * in the buffer once, so MB/s = ops/s x {@link #bytes} / 10^6 (the size is printed at setup).
 *
 * <ul>
 * <li>{@code baselineStringParseFloat}: {@code new String} + {@link Float#parseFloat} per token, the JDK baseline;
 * <li>{@code embstoreParseField}: the converter's path, line by line, {@code FloatParser.parseField} finding each
 *     token's end itself;
 * <li>{@code embstoreParseToken}: {@code FloatParser.parse} on token bounds found by the same scan as the baseline;
 * <li>{@code embstoreMapped}: the converter's input path: an FFM-mapped file, copied into a heap chunk
 *     ({@code MemorySegment.copy}), then {@code parseField};
 * <li>{@code fastDoubleParser}: {@code JavaFloatParser.parseFloat(byte[], off, len)} per token;
 * <li>{@code chronicleHeap}: chronicle-bytes {@code Bytes.wrapForRead(byte[])}, {@code parseFloat()} per value
 *     (which is {@code (float) parseDouble()}), the word skipped with {@code skipTo(SPACE_STOP)};
 * <li>{@code chronicleMapped}: the same over chronicle's {@code MappedBytes} of the same file, read only.
 * </ul>
 * Every variant's token count is checked against the baseline at setup, and its float sum printed.
 *
 * <p>Run:
 * <pre>
 * mvn -q -B -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar ParseBenchmark -f 1 -wi 2 -w 1s -i 3 -r 2s
 * </pre>
 * The fork gets the flags chronicle-bytes needs on JDK 25 (see {@code benchmarks/results/parse-chronicle.md}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {
        "-Xmx1g",
        // chronicle's MappedBytes fails without these two (OS.map0 reflects into sun.nio.ch.UnixFileDispatcherImpl):
        "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
        // and prints warnings without these three (ByteBuffer cleaner, JNR's System.load, Unsafe memory access):
        "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow",
})
public class ParseBenchmark {
    static final int LINES = 400;
    static final int DIM = 300;

    private byte[] data;
    private Path file;
    private Arena arena;
    private MemorySegment mappedSegment;
    private byte[] chunk;
    private final FloatParser embstore = new FloatParser();
    private Bytes<byte[]> heapBytes;
    private MappedBytes mappedBytes;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        data = ParseData.glove(LINES, DIM, 42);
        file = Files.createTempFile("embstore-parse", ".txt");
        Files.write(file, data);
        arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            mappedSegment = ch.map(FileChannel.MapMode.READ_ONLY, 0, data.length, arena);
        }
        chunk = new byte[data.length];
        heapBytes = Bytes.wrapForRead(data);
        mappedBytes = MappedBytes.mappedBytes(file.toFile(), 4L << 20, 0, true);
        System.out.printf("%nParseBenchmark: %d bytes, %d values, %.2f bytes/value%n", data.length, LINES * DIM,
                (double) data.length / (LINES * DIM));
        float expected = baselineStringParseFloat();
        check("embstoreParseField", embstoreParseField(), expected);
        check("embstoreParseToken", embstoreParseToken(), expected);
        check("embstoreMapped", embstoreMapped(), expected);
        check("fastDoubleParser", fastDoubleParser(), expected);
        check("chronicleHeap", chronicleHeap(), expected);
        check("chronicleMapped", chronicleMapped(), expected);
    }

    private static void check(String name, float sum, float expected) {
        System.out.printf("  %-20s sum %s%s%n", name, sum, sum == expected ? "" : " (baseline " + expected + ")");
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        mappedBytes.releaseLast();
        arena.close();
        Files.deleteIfExists(file);
    }

    private static void count(int n) {
        if (n != LINES * DIM) {
            throw new IllegalStateException("parsed " + n + " values, expected " + LINES * DIM);
        }
    }

    /** Index of the blank or newline that ends the token starting at {@code i}. */
    private static int tokenEnd(byte[] b, int i, int n) {
        while (i < n) {
            byte c = b[i];
            if (c == ' ' || c == '\n') {
                break;
            }
            i++;
        }
        return i;
    }

    @Benchmark
    public float baselineStringParseFloat() {
        byte[] b = data;
        int n = b.length;
        float sum = 0;
        int values = 0;
        int i = 0;
        while (i < n) {
            i = tokenEnd(b, i, n); // the word
            while (i < n && b[i] == ' ') {
                int s = i + 1;
                i = tokenEnd(b, s, n);
                sum += Float.parseFloat(new String(b, s, i - s, StandardCharsets.ISO_8859_1));
                values++;
            }
            i++; // the newline
        }
        count(values);
        return sum;
    }

    @Benchmark
    public float embstoreParseToken() {
        byte[] b = data;
        FloatParser p = embstore;
        int n = b.length;
        float sum = 0;
        int values = 0;
        int i = 0;
        while (i < n) {
            i = tokenEnd(b, i, n);
            while (i < n && b[i] == ' ') {
                int s = i + 1;
                i = tokenEnd(b, s, n);
                sum += p.parse(b, s, i);
                values++;
            }
            i++;
        }
        count(values);
        return sum;
    }

    @Benchmark
    public float fastDoubleParser() {
        byte[] b = data;
        int n = b.length;
        float sum = 0;
        int values = 0;
        int i = 0;
        while (i < n) {
            i = tokenEnd(b, i, n);
            while (i < n && b[i] == ' ') {
                int s = i + 1;
                i = tokenEnd(b, s, n);
                sum += JavaFloatParser.parseFloat(b, s, i - s);
                values++;
            }
            i++;
        }
        count(values);
        return sum;
    }

    @Benchmark
    public float embstoreParseField() {
        return parseLines(data, data.length);
    }

    @Benchmark
    public float embstoreMapped() {
        MemorySegment.copy(mappedSegment, ValueLayout.JAVA_BYTE, 0, chunk, 0, chunk.length);
        return parseLines(chunk, chunk.length);
    }

    /** As TextVectorReader and LineParser do: find the line, skip the word, parseField each value. */
    private float parseLines(byte[] b, int n) {
        FloatParser p = embstore;
        float sum = 0;
        int values = 0;
        int pos = 0;
        while (pos < n) {
            int lineEnd = pos;
            while (lineEnd < n && b[lineEnd] != '\n') {
                lineEnd++;
            }
            int i = pos;
            while (i < lineEnd && b[i] != ' ') {
                i++;
            }
            while (true) {
                while (i < lineEnd && b[i] == ' ') {
                    i++;
                }
                if (i >= lineEnd) {
                    break;
                }
                sum += p.parseField(b, i, lineEnd);
                values++;
                i = p.end();
            }
            pos = lineEnd + 1;
        }
        count(values);
        return sum;
    }

    @Benchmark
    public float chronicleHeap() {
        return parseChronicle(heapBytes, data.length);
    }

    @Benchmark
    public float chronicleMapped() {
        return parseChronicle(mappedBytes, data.length);
    }

    private static float parseChronicle(Bytes<?> bytes, long length) {
        bytes.readPositionRemaining(0, length);
        float sum = 0;
        int values = 0;
        while (bytes.readRemaining() > 0) {
            bytes.skipTo(StopCharTesters.SPACE_STOP); // the word and the blank after it
            for (int k = 0; k < DIM; k++) {
                sum += bytes.parseFloat(); // consumes the blank or newline after the value
                values++;
            }
        }
        count(values);
        return sum;
    }
}
