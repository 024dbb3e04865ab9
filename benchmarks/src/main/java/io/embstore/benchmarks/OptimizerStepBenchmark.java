package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * A lazy Adam step ({@link SparseTrainer#step}) on a mapped 1M x 128 f32 table: 4096 ids per step drawn from Zipf(1.05)
 * over the rows (hot rows scattered through the table by a fixed permutation), about 2,100 unique, with 1 and 2
 * threads, with and without the undo log. The {@code uniqueRows} counter is the rate that matters: unique rows updated
 * per second. Each row reads and writes p, m and v (3 x 512 bytes) at random places in three 512 MB files, so memory
 * latency (cache and TLB misses), not bandwidth or arithmetic, bounds it.
 *
 * <p>The undo log writes and forces the pre-images of the rows a step dirties for the first time since the last
 * checkpoint. With {@code checkpointEvery=0} (the default) the benchmark never checkpoints, and after the setup's
 * pass over the 64 pre-drawn steps every row is dirty: undo log on then costs only its membership checks. With
 * {@code checkpointEvery=N} a checkpoint (outside the measured time) precedes every N-th step, so that the log's
 * pre-image copies and its fsync per step are measured as a run that checkpoints that often pays them.
 *
 * <p>Baseline in this class, {@link #denseHeapAdam}: the same Adam arithmetic, single-threaded, over heap arrays holding
 * just the step's ~2,100 rows back to back (no coalescing, no gather, no mapping, caches warm): the arithmetic alone.
 *
 * <p>Run (the table is built in a temporary directory per fork and deleted after; about 1.5 GB of disk):
 * <pre>
 * mvn -q -B -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar OptimizerStepBenchmark
 * </pre>
 * The setup runs every pre-drawn step twice before the warm-up, so the pages of the fresh (sparse) state files are
 * faulted in (the first steps on a new table run at a tenth of the steady rate) and the kernel is compiled.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 3)
public class OptimizerStepBenchmark {
    static final int IDS = 4096;
    static final double ZIPF = 1.05;
    /** Pre-drawn steps, cycled through. */
    static final int BATCHES = 64;

    /** The table, the trainer and the pre-drawn steps. */
    @State(Scope.Benchmark)
    public static class Table {
        @Param("1000000")
        int rows;
        @Param("128")
        int dim;
        @Param({"1", "2"})
        int threads;
        @Param({"false", "true"})
        boolean undoLog;
        /** Checkpoint before every N-th step (unmeasured); 0: never. */
        @Param("0")
        int checkpointEvery;

        Path dir;
        EmbeddingStore store;
        SparseTrainer trainer;
        int[][] ids;
        int[] unique;
        float[] grads;
        int next;
        int sinceCheckpoint;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("embstore-optimizer-bench");
            store = EmbeddingStore.builder(dir.resolve("table")).vocabulary(false).rows(rows).dim(dim)
                    .init(Init.normal(42)).create();
            trainer = SparseTrainer.attach(store, SparseTrainer.Options.adam().threads(threads).undoLog(undoLog).build());
            ids = zipfBatches(rows, BATCHES, 7);
            unique = new int[BATCHES];
            long total = 0;
            for (int b = 0; b < BATCHES; b++) {
                unique[b] = (int) IntStream.of(ids[b]).distinct().count();
                total += unique[b];
            }
            System.out.printf("%n%d x %d table, %d ids per step, %.0f unique on average%n", rows, dim, IDS,
                    total / (double) BATCHES);
            SplittableRandom r = new SplittableRandom(11);
            grads = new float[IDS * dim];
            for (int i = 0; i < grads.length; i++) {
                grads[i] = (float) (r.nextGaussian() * 0.01);
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int b = 0; b < BATCHES; b++) {
                    trainer.step(ids[b], grads);
                }
            }
        }

        /** The checkpoints of {@code checkpointEvery}, outside the measured time (JMH times the step alone). */
        @Setup(Level.Invocation)
        public void maybeCheckpoint() {
            if (checkpointEvery > 0 && ++sinceCheckpoint >= checkpointEvery) {
                trainer.checkpoint();
                sinceCheckpoint = 0;
            }
        }

        /**
         * Deletes the table without closing the trainer: close() would checkpoint, forcing a run's worth of dirty
         * rows (minutes of msync here) that nobody reads. The fork ends after its one trial, which unmaps the files;
         * the dirty pages of deleted files are dropped, not written.
         */
        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /**
     * Zipf(s) over ranks 1..n by inverse CDF; rank k is row (k * 7919) mod n, a fixed permutation (7919 is prime). Public
     * for benchmarks/larger-than-memory/TrainerAB.java, which trains on the same steps.
     */
    public static int[][] zipfBatches(int n, int batches, long seed) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int k = 1; k <= n; k++) {
            sum += Math.pow(k, -ZIPF);
            cdf[k - 1] = sum;
        }
        SplittableRandom r = new SplittableRandom(seed);
        int[][] out = new int[batches][IDS];
        for (int b = 0; b < batches; b++) {
            for (int i = 0; i < IDS; i++) {
                double u = r.nextDouble() * sum;
                int lo = 0;
                int hi = n - 1;
                while (lo < hi) {
                    int mid = (lo + hi) >>> 1;
                    if (cdf[mid] < u) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                out[b][i] = (int) ((lo * 7919L) % n);
            }
        }
        return out;
    }

    /** Unique rows updated, reported by JMH as a rate per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rows {
        public long uniqueRows;

        @Setup(Level.Iteration)
        public void reset() {
            uniqueRows = 0;
        }
    }

    @Benchmark
    public long lazyAdamStep(Table t, Rows rows) {
        int b = t.next;
        t.next = (b + 1) % BATCHES;
        rows.uniqueRows += t.unique[b];
        return t.trainer.step(t.ids[b], t.grads);
    }

    /** The baseline's rows: as many as a step has unique rows, contiguous on the heap. */
    @State(Scope.Thread)
    public static class Dense {
        @Param("2100")
        int denseRows;
        @Param("128")
        int denseDim;
        float[] p;
        float[] m;
        float[] v;
        float[] g;
        long t;

        @Setup(Level.Trial)
        public void setUp() {
            SplittableRandom r = new SplittableRandom(5);
            int n = denseRows * denseDim;
            p = new float[n];
            m = new float[n];
            v = new float[n];
            g = new float[n];
            for (int i = 0; i < n; i++) {
                p[i] = (float) r.nextGaussian();
                g[i] = (float) (r.nextGaussian() * 0.01);
            }
        }
    }

    /** Dense single-threaded Adam (torch's float32 order of operations) over heap arrays of one step's rows. */
    @Benchmark
    public float denseHeapAdam(Dense d, Rows rows) {
        d.t++;
        double bc1 = 1 - Math.pow(0.9, d.t);
        double bc2 = 1 - Math.pow(0.999, d.t);
        float negStep = (float) -(1e-3 * Math.sqrt(bc2) / bc1);
        float omb1 = (float) (1 - 0.9);
        float omb2 = (float) (1 - 0.999);
        float eps = 1e-8f;
        float[] p = d.p;
        float[] m = d.m;
        float[] v = d.v;
        float[] g = d.g;
        for (int i = 0; i < p.length; i++) {
            float gi = g[i];
            float mi = m[i] + (gi - m[i]) * omb1;
            float vi = v[i] + (gi * gi - v[i]) * omb2;
            m[i] = mi;
            v[i] = vi;
            p[i] += negStep * (mi / ((float) Math.sqrt(vi) + eps));
        }
        rows.uniqueRows += d.denseRows;
        return p[0];
    }
}
