package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The heap a read-only store keeps while it is open, and the wall time of single opens, for stores of 1 000,
 * 1 000 000 and 4 000 000 rows x 300 f32 with a vocabulary (the stores of {@link OpenBenchmark}). Target: retained
 * heap under 16 MB at 4M rows, open at most 10 ms.
 *
 * <p>For each size: force GC until the used heap settles, read {@code MemoryMXBean} heap used, open the store (and keep
 * it open), look up one word, force GC again and print the difference. The baseline, in the same run, is a raw
 * {@code FileChannel.map} of the store's matrix file into a shared arena: its retained heap and its open time are the
 * floor. Open times are the first (cold JVM code, warm page cache) and the median of {@value #REPEATS} open+close
 * cycles. A warm-up open of the smallest store runs first so that class loading is not counted against the first size.
 *
 * <p>Run (after building the benchmarks jar):
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     io.embstore.benchmarks.OpenFootprint [rows ...]
 * </pre>
 */
public final class OpenFootprint {
    static final int REPEATS = 101;

    private OpenFootprint() {
    }

    public static void main(String[] args) throws Exception {
        int[] sizes = args.length > 0 ? Arrays.stream(args).mapToInt(Integer::parseInt).toArray()
                : new int[]{1_000, 1_000_000, 4_000_000};
        Path[] dirs = new Path[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            dirs[i] = BenchStores.vocabularyStore(sizes[i]);
        }
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        // Warm-up: load and initialise every class an open and a lookup use, and the baseline's.
        try (EmbeddingStore s = EmbeddingStore.open(dirs[0])) {
            s.rowOf(BenchStores.word(0));
        }
        try (Arena a = Arena.ofShared()) {
            mapMatrix(dirs[0], a);
        }

        System.out.printf("%-10s %-22s %14s %14s %14s%n", "rows", "what", "heap delta B", "first open us", "median us");
        List<Object> keep = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            Path dir = dirs[i];
            String last = BenchStores.word(sizes[i] - 1);

            long before = settledHeap(memory);
            long t0 = System.nanoTime();
            EmbeddingStore store = EmbeddingStore.open(dir);
            long first = System.nanoTime() - t0;
            if (store.rowOf(last) != sizes[i] - 1) {
                throw new IllegalStateException("lookup of " + last + " failed in " + store);
            }
            long after = settledHeap(memory);
            keep.add(store);
            long storeMedian = median(() -> {
                try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                    s.rows();
                }
            });
            System.out.printf("%-10d %-22s %14d %14.1f %14.1f%n", sizes[i], "EmbeddingStore.open", after - before,
                    first / 1e3, storeMedian / 1e3);

            before = settledHeap(memory);
            t0 = System.nanoTime();
            Arena arena = Arena.ofShared();
            MemorySegment matrix = mapMatrix(dir, arena);
            first = System.nanoTime() - t0;
            after = settledHeap(memory);
            keep.add(matrix);
            keep.add(arena);
            long rawMedian = median(() -> {
                try (Arena a = Arena.ofShared()) {
                    mapMatrix(dir, a);
                }
            });
            System.out.printf("%-10d %-22s %14d %14.1f %14.1f%n", sizes[i], "FileChannel.map (floor)", after - before,
                    first / 1e3, rawMedian / 1e3);
        }
        for (Object o : keep) {
            if (o instanceof AutoCloseable c) {
                c.close();
            }
        }
    }

    private static MemorySegment mapMatrix(Path dir, Arena arena) {
        try (FileChannel ch = FileChannel.open(dir.resolve("matrix.npy"), StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0);
            return seg;
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Median nanoseconds of {@value #REPEATS} runs. */
    private static long median(Runnable task) {
        long[] t = new long[REPEATS];
        for (int i = 0; i < REPEATS; i++) {
            long t0 = System.nanoTime();
            task.run();
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        return t[REPEATS / 2];
    }

    /** Heap used after full GCs, once two in a row agree within 64 KB. */
    private static long settledHeap(MemoryMXBean memory) throws InterruptedException {
        long previous = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(50);
            long used = memory.getHeapMemoryUsage().getUsed();
            if (Math.abs(used - previous) < 64 * 1024) {
                return used;
            }
            previous = used;
        }
        return previous;
    }
}
