package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Neighbor;
import io.embstore.store.Init;
import io.embstore.store.Dtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Brute-force cosine queries ({@link EmbeddingStore#mostSimilar}) over a mapped table: one query and a batch of 8, for
 * f32, f16, q8 and q4 rows, with the SIMD and the scalar kernel. The limit is memory: one query over 400,000 x 300 f32
 * reads 480 MB, about 20 ms at this machine class's 21 GB/s (gensim's {@code most_similar} takes about that long); f16
 * reads half, q8 about a quarter (target: at least 2x f32, issue 14), q4 an eighth; a batch of 8 reads the same bytes
 * once. The baseline in this class is the loop people write first: a plain
 * single-threaded scalar dot product over a heap {@code float[]}.
 *
 * <p>Run (the table is built in a temporary directory per fork and deleted after):
 * <pre>
 * mvn -q -B -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar SimilarityBenchmark -f 1 -wi 3 -i 5
 * </pre>
 * Each kernel runs in its own fork: the kernel is picked once per JVM, from the system property
 * {@code embstore.vector} set here before the first query.
 *
 * <p>The table here is written through the store's own mapping, and the kernel (Linux 6.18, ext4) then maps only about
 * 60% of it with 2 MB pages, against about 90% for a store written by {@code convert}; the figure to hold against
 * gensim is the peer harness's ({@code benchmarks/peers/run}, a converted store). See
 * {@code benchmarks/results/similarity.md}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class SimilarityBenchmark {
    private static final int K = 10;

    /** The mapped table and its queries. */
    @State(Scope.Benchmark)
    public static class Table {
        @Param("400000")
        int rows;
        @Param("300")
        int dim;
        @Param({"F32", "F16", "Q8", "Q4"})
        Dtype dtype;
        @Param({"simd", "scalar"})
        String kernel;

        Path dir;
        EmbeddingStore store;
        float[] query;
        float[][] batch;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            System.setProperty("embstore.vector", kernel);
            dir = Files.createTempDirectory("similarity-bench").resolve("table");
            WritableStore writer = EmbeddingStore.builder(dir).rows(rows).dim(dim).dtype(dtype).vocabulary(false)
                    .init(Init.normal(42)).create();
            writer.computeNorms();
            store = writer;
            SplittableRandom rnd = new SplittableRandom(7);
            batch = new float[8][dim];
            for (float[] q : batch) {
                for (int i = 0; i < dim; i++) {
                    q[i] = (float) rnd.nextGaussian();
                }
            }
            query = batch[0];
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            store.close();
            try (Stream<Path> files = Files.walk(dir.getParent())) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /** The baseline's table: the same shape as a heap float[], one thread, no SIMD. */
    @State(Scope.Benchmark)
    public static class HeapTable {
        @Param("400000")
        int rows;
        @Param("300")
        int dim;

        float[] matrix;
        float[] query;

        @Setup(Level.Trial)
        public void setUp() {
            SplittableRandom rnd = new SplittableRandom(42);
            matrix = new float[Math.multiplyExact(rows, dim)];
            for (int i = 0; i < matrix.length; i++) {
                matrix[i] = (float) rnd.nextGaussian();
            }
            query = new float[dim];
            for (int i = 0; i < dim; i++) {
                query[i] = (float) rnd.nextGaussian();
            }
        }
    }

    @Benchmark
    public List<Neighbor> oneQuery(Table t) {
        return t.store.mostSimilar(t.query, K, Set.of());
    }

    @Benchmark
    public List<List<Neighbor>> batchOf8(Table t) {
        return t.store.mostSimilar(t.batch, K, Set.of());
    }

    /** The best row by dot product over a heap float[]: what one writes without a library. */
    @Benchmark
    public int baselineHeapDotLoop(HeapTable h) {
        float[] m = h.matrix;
        float[] q = h.query;
        int dim = h.dim;
        int best = -1;
        float bestScore = Float.NEGATIVE_INFINITY;
        for (int r = 0; r < h.rows; r++) {
            float s = 0;
            for (int i = 0, at = r * dim; i < dim; i++) {
                s += q[i] * m[at + i];
            }
            if (s > bestScore) {
                bestScore = s;
                best = r;
            }
        }
        return best;
    }
}
