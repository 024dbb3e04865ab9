package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Times {@code mostSimilar} in one process the way the peer harness times gensim's: open the store, a few warm-up
 * queries, then N queries for words spread over the vocabulary; prints the median in milliseconds as JSON, with the
 * median CPU time of a query summed over all threads. The CPU figure is the one that compares two builds on a loaded
 * machine, where wall time also measures the neighbours.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.QueryTimer STORE N K
 * </pre>
 */
public final class QueryTimer {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private QueryTimer() {
    }

    /** CPU time of every live thread, in ns: the process-wide figure counts in 10 ms ticks on Linux. */
    private static long cpuNanos() {
        long total = 0;
        for (long id : THREADS.getAllThreadIds()) {
            long t = THREADS.getThreadCpuTime(id);
            if (t > 0) {
                total += t;
            }
        }
        return total;
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int queries = Integer.parseInt(args[1]);
        int k = Integer.parseInt(args[2]);
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            for (int w = 0; w < 5; w++) {
                store.mostSimilar(store.word(w), k);
            }
            double[] ms = new double[queries];
            double[] cpu = new double[queries];
            for (int i = 0; i < queries; i++) {
                String word = store.word((i * 7919L) % store.rows());
                long c = cpuNanos();
                long t = System.nanoTime();
                store.mostSimilar(word, k);
                ms[i] = (System.nanoTime() - t) / 1e6;
                cpu[i] = (cpuNanos() - c) / 1e6;
            }
            Arrays.sort(ms);
            Arrays.sort(cpu);
            System.out.println("{\"median_ms\": " + ms[queries / 2] + ", \"cpu_median_ms\": " + cpu[queries / 2] + "}");
        }
    }
}
