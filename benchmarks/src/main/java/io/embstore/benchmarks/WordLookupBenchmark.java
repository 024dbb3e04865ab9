package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.HashMap;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Lookups per second of {@code rowOf(word)} on one thread, for random words of a vocabulary of 400 000 and 4 000 000
 * words ({@code "w0".."w<n-1>"}, store of n x 300 f32 zeros). Target: at least 5 M lookups/s.
 *
 * <p>The words looked up are {@value #LOOKUPS} pre-drawn words (uniform, fixed seed), fresh {@code String}s distinct
 * from any the store or the map was built from, cycled through one per invocation. Their {@code hashCode} is cached by
 * {@code String} after the first pass, which helps the baseline, as it would any program that looks up the same
 * {@code String} objects repeatedly; the store hashes the UTF-8 bytes every time by design (the index is shared
 * across processes).
 *
 * <p>Baseline in this class: {@code hashMapGet}, a {@code java.util.HashMap<String, Integer>} built from the same
 * words, queried with the same strings.
 *
 * <p>Run:
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar WordLookupBenchmark \
 *     -f 1 -wi 2 -w 2s -i 3 -r 3s
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class WordLookupBenchmark {
    /** Pre-drawn lookups; a power of two. */
    static final int LOOKUPS = 1 << 20;
    static final long SEED = 7;

    /** The vocabulary size and the words to look up. */
    @State(Scope.Benchmark)
    public static class Words {
        @Param({"400000", "4000000"})
        public int vocab;

        String[] lookups;

        @Setup(Level.Trial)
        public void setup() {
            SplittableRandom random = new SplittableRandom(SEED);
            lookups = new String[LOOKUPS];
            for (int i = 0; i < LOOKUPS; i++) {
                lookups[i] = new String(BenchStores.word(random.nextInt(vocab)));
            }
        }
    }

    /** One thread's position in the lookups. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;

        String next(Words w) {
            String word = w.lookups[next];
            next = (next + 1) & (LOOKUPS - 1);
            return word;
        }
    }

    /** The store, read-only. */
    @State(Scope.Benchmark)
    public static class Store {
        EmbeddingStore store;

        @Setup(Level.Trial)
        public void setup(Words w) {
            store = EmbeddingStore.open(BenchStores.vocabularyStore(w.vocab));
            for (String word : w.lookups) {
                if (store.rowOf(word) < 0) {
                    throw new IllegalStateException("missing word " + word);
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            store.close();
        }
    }

    /** Baseline: a HashMap of the same words. */
    @State(Scope.Benchmark)
    public static class Map {
        HashMap<String, Integer> map;

        @Setup(Level.Trial)
        public void setup(Words w) {
            map = HashMap.newHashMap(w.vocab);
            for (int i = 0; i < w.vocab; i++) {
                map.put(BenchStores.word(i), i);
            }
        }
    }

    @Benchmark
    public long storeRowOf(Store s, Words w, Cursor c) {
        return s.store.rowOf(c.next(w));
    }

    /** Batch size of {@link #storeRowsOf}: a tokenizer's worth of words. */
    static final int BATCH = 256;

    /** {@code rowsOf} over batches of {@value #BATCH} words; counted per word. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long storeRowsOf(Store s, Words w, Batch b) {
        int from = b.next;
        b.next = (b.next + BATCH) & (LOOKUPS - 1);
        System.arraycopy(w.lookups, from, b.words, 0, BATCH);
        s.store.rowsOf(b.words, BATCH, b.rows);
        return b.rows[BATCH - 1];
    }

    /** One thread's batch buffers. */
    @State(Scope.Thread)
    public static class Batch {
        int next;
        final String[] words = new String[BATCH];
        final long[] rows = new long[BATCH];
    }

    @Benchmark
    public int hashMapGet(Map m, Words w, Cursor c) {
        Integer row = m.map.get(c.next(w));
        return row == null ? -1 : row;
    }
}
