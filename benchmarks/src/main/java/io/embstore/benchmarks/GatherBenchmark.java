package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import io.embstore.store.Dtype;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Rows per second of {@code gather(ids, float[], mode)} of 4096 random ids (uniform over the rows, fixed seed) from a
 * table of 1 000 000 x 300 rows (1.2 GB at f32, 0.6 GB at f16, 0.3 GB at q8: larger than the caches), for f32, f16
 * and q8 (rows dequantized to float32) and both read modes, on one thread ({@code _t1}) and two ({@code _t2}).
 * Targets: at least 10 M rows/s with two threads at f32; q8 at least f32's rows/s (issue 14).
 *
 * <p>Each invocation gathers the next of {@value #BATCHES} pre-drawn batches of {@value #BATCH} ids (4 M ids in all,
 * so the 4.9 MB a batch touches is not the same from one invocation to the next); each thread has its own cursor and
 * its own destination. Scores are ops/s with one op = one row, i.e. rows/s; for {@code memcpy_*} one op = one byte, i.e.
 * bytes/s. Setup maps the store and reads every row once so that page faults (the page cache is warm after the first
 * run) are not measured.
 *
 * <p>Baselines in this class, sharing the same ids and destinations:
 * <ul>
 *   <li>{@code heapArraycopy_*}: a heap {@code float[1_000_000 * 300]} gathered with {@code System.arraycopy}: what a
 *       plain Java table gives (and needs 1.2 GB of heap: the forks run with {@code -Xmx4g});</li>
 *   <li>{@code offHeapRowGather_*}: the same random 1200-byte rows copied with {@code MemorySegment.copy} from a 1.2 GB
 *       off-heap segment into the heap destination: the hardware limit of this access pattern;</li>
 *   <li>{@code memcpy_*}: {@code MemorySegment.copy} of a 256 MB off-heap segment into another (bytes copied per
 *       second): the machine's streaming copy bandwidth.</li>
 * </ul>
 *
 * <p>Run:
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar GatherBenchmark \
 *     -f 1 -wi 2 -w 2s -i 3 -r 3s
 * </pre>
 * The first run creates the two tables under {@code /tmp/embstore-bench} (1.2 GB + 0.6 GB); later runs reuse them.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
// The Vector API module as the embstore launcher loads it: q8 rows are dequantized with it (f32/f16 do not use it).
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class GatherBenchmark {
    /** Ids per gather. */
    static final int BATCH = 4096;
    /** Pre-drawn batches that the invocations cycle through. */
    static final int BATCHES = 1024;
    static final int ROWS = BenchStores.GATHER_ROWS;
    static final int DIM = BenchStores.DIM;
    static final long ROW_BYTES = (long) DIM * Float.BYTES;
    static final long SEED = 20_240_601L;
    static final long MEMCPY_BYTES = 256L << 20;

    /** The ids: {@value #BATCHES} batches of {@value #BATCH}, uniform over the rows. */
    @State(Scope.Benchmark)
    public static class Ids {
        int[][] batches;

        @Setup(Level.Trial)
        public void setup() {
            SplittableRandom random = new SplittableRandom(SEED);
            batches = new int[BATCHES][BATCH];
            for (int[] batch : batches) {
                for (int i = 0; i < BATCH; i++) {
                    batch[i] = random.nextInt(ROWS);
                }
            }
        }
    }

    /** One thread's destination and position in the batches. */
    @State(Scope.Thread)
    public static class Cursor {
        float[] dst;
        int next;

        @Setup(Level.Trial)
        public void setup(ThreadParams thread) {
            dst = new float[BATCH * DIM];
            next = thread.getThreadIndex() * (BATCHES / 2);
        }

        int[] next(Ids ids) {
            int[] batch = ids.batches[next];
            next = (next + 1) & (BATCHES - 1);
            return batch;
        }
    }

    /** The mapped table, read-only. */
    @State(Scope.Benchmark)
    public static class Store {
        @Param({"F32", "F16", "Q8"})
        public Dtype dtype;
        @Param({"CONSISTENT", "RELAXED"})
        public ReadMode mode;

        EmbeddingStore store;

        @Setup(Level.Trial)
        public void setup() {
            store = EmbeddingStore.open(BenchStores.gatherStore(dtype));
            float[] row = new float[DIM];
            for (long r = 0; r < store.rows(); r++) {
                store.read(r, row, 0, ReadMode.RELAXED);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            store.close();
        }
    }

    /** Baseline (a): the same shape as one heap array. */
    @State(Scope.Benchmark)
    public static class HeapTable {
        float[] table;

        @Setup(Level.Trial)
        public void setup() {
            table = new float[ROWS * DIM];
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < table.length; i++) {
                table[i] = random.nextFloat() - 0.5f;
            }
        }
    }

    /** Baseline (b): the same bytes off-heap, page-aligned, every page touched. */
    @State(Scope.Benchmark)
    public static class OffHeapTable {
        Arena arena;
        MemorySegment table;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            table = arena.allocate(ROWS * ROW_BYTES, 4096);
            SplittableRandom random = new SplittableRandom(SEED);
            for (long i = 0; i < table.byteSize(); i += Long.BYTES) {
                table.set(ValueLayout.JAVA_LONG, i, random.nextLong());
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    /** Baseline (b): a 256 MB source shared by the threads. */
    @State(Scope.Benchmark)
    public static class CopySource {
        Arena arena;
        MemorySegment src;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            src = arena.allocate(MEMCPY_BYTES, 4096);
            src.fill((byte) 1);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    /** Baseline (b): each thread's own 256 MB destination. */
    @State(Scope.Thread)
    public static class CopyTarget {
        Arena arena;
        MemorySegment dst;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            dst = arena.allocate(MEMCPY_BYTES, 4096);
            dst.fill((byte) 0);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    // ------------------------------------------------------------------------------------------------ the store

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(BATCH)
    public float[] storeGather_t1(Store s, Ids ids, Cursor c) {
        s.store.gather(c.next(ids), c.dst, s.mode);
        return c.dst;
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(BATCH)
    public float[] storeGather_t2(Store s, Ids ids, Cursor c) {
        s.store.gather(c.next(ids), c.dst, s.mode);
        return c.dst;
    }

    // ------------------------------------------------------------------------------------------------ baselines

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(BATCH)
    public float[] heapArraycopy_t1(HeapTable t, Ids ids, Cursor c) {
        return heapGather(t.table, c.next(ids), c.dst);
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(BATCH)
    public float[] heapArraycopy_t2(HeapTable t, Ids ids, Cursor c) {
        return heapGather(t.table, c.next(ids), c.dst);
    }

    private static float[] heapGather(float[] table, int[] batch, float[] dst) {
        for (int i = 0; i < batch.length; i++) {
            System.arraycopy(table, batch[i] * DIM, dst, i * DIM, DIM);
        }
        return dst;
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(BATCH)
    public float[] offHeapRowGather_t1(OffHeapTable t, Ids ids, Cursor c) {
        return offHeapGather(t.table, c.next(ids), c.dst);
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(BATCH)
    public float[] offHeapRowGather_t2(OffHeapTable t, Ids ids, Cursor c) {
        return offHeapGather(t.table, c.next(ids), c.dst);
    }

    private static float[] offHeapGather(MemorySegment table, int[] batch, float[] dst) {
        for (int i = 0; i < batch.length; i++) {
            MemorySegment.copy(table, ValueLayout.JAVA_FLOAT_UNALIGNED, batch[i] * ROW_BYTES, dst, i * DIM, DIM);
        }
        return dst;
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation((int) MEMCPY_BYTES)
    public MemorySegment memcpy_t1(CopySource s, CopyTarget t) {
        MemorySegment.copy(s.src, 0, t.dst, 0, MEMCPY_BYTES);
        return t.dst;
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation((int) MEMCPY_BYTES)
    public MemorySegment memcpy_t2(CopySource s, CopyTarget t) {
        MemorySegment.copy(s.src, 0, t.dst, 0, MEMCPY_BYTES);
        return t.dst;
    }
}
