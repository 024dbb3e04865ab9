package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Rows per second of {@code gather(ids, float[])} (consistent reads) of {@value #BATCH} ids drawn uniformly over all
 * rows, on {@code threads} threads for {@code seconds}, from a store as it is: run by benchmarks/larger-than-memory/run
 * on a table larger than memory after the page cache is dropped, where the figure to compare is the disk's random
 * 4 KiB read rate (fio, same run). Prints the rows of each second and the mean over the run; each thread has its own
 * random ids (seed printed) and destination.
 *
 * <p>Run (after building the benchmarks jar):
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     io.embstore.benchmarks.ColdGather STORE THREADS SECONDS
 * </pre>
 * {@code -Dembstore.advice=false} runs it with the kernel's default advice (the before of issue 16), as a baseline.
 */
public final class ColdGather {
    static final int BATCH = 4096;

    private ColdGather() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ColdGather STORE THREADS SECONDS");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        long seed = System.nanoTime();
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            long rows = store.rows();
            int dim = store.dim();
            System.out.printf("store %s: %d x %d %s, %d threads, %d s, batches of %d, seed %d%n", dir, rows, dim,
                    store.dtype().label(), threads, seconds, BATCH, seed);
            LongAdder gathered = new LongAdder();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch done = new CountDownLatch(threads);
            for (int t = 0; t < threads; t++) {
                SplittableRandom random = new SplittableRandom(seed + t);
                Thread worker = new Thread(() -> {
                    int[] ids = new int[BATCH];
                    float[] dst = new float[BATCH * dim];
                    try {
                        while (!stop.get()) {
                            for (int i = 0; i < BATCH; i++) {
                                ids[i] = (int) random.nextLong(rows);
                            }
                            store.gather(ids, dst, ReadMode.CONSISTENT);
                            gathered.add(BATCH);
                        }
                    } finally {
                        done.countDown();
                    }
                }, "cold-gather-" + t);
                worker.setDaemon(true);
                worker.start();
            }
            long start = System.nanoTime();
            long last = 0;
            for (int s = 1; s <= seconds; s++) {
                Thread.sleep(Math.max(0, start + s * 1_000_000_000L - System.nanoTime()) / 1_000_000);
                long now = gathered.sum();
                System.out.printf("  second %2d: %,d rows/s%n", s, now - last);
                last = now;
            }
            stop.set(true);
            done.await();
            double elapsed = (System.nanoTime() - start) / 1e9;
            long total = gathered.sum();
            System.out.printf("RESULT threads=%d rows=%d seconds=%.1f rows_per_s=%.0f%n", threads, total, elapsed,
                    total / elapsed);
        }
    }
}
