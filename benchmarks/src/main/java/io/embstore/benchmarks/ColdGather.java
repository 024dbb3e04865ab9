package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Rows per second of {@code gather(ids, float[])} (consistent reads) of {@value #BATCH} ids drawn uniformly over all
 * rows, on {@code threads} threads for {@code seconds}, from a store as it is: run by benchmarks/larger-than-memory/run
 * on a table larger than memory after the page cache is dropped, where the figure to compare is the disk's random
 * 4 KiB read rate (fio, same run). Prints the rows of each second and the mean over the run; each thread has its own
 * random ids (seed printed) and destination.
 *
 * <p>With a fourth argument {@code S > 0} the ids follow Zipf(S) over the rows instead (the continuous approximation
 * of its inverse CDF; rank {@code k} is row {@code (k - 1) * 7919 mod rows}, so hot rows are scattered over the table,
 * each on its own page): a hot set that becomes resident as it is read. The run then ends by gathering again the
 * first {@value #REPLAY} batches of each thread for 5 s, every row of them read before: the in-memory rate to compare.
 *
 * <p>Run (after building the benchmarks jar):
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     io.embstore.benchmarks.ColdGather STORE THREADS SECONDS [ZIPF_S]
 * </pre>
 * {@code -Dembstore.advice=false} runs it with the kernel's default advice (the before of issue 16), as a baseline.
 */
public final class ColdGather {
    static final int BATCH = 4096;
    /** Batches of each thread kept and gathered again at the end of a Zipf run. */
    static final int REPLAY = 16;

    private ColdGather() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 && args.length != 4) {
            System.err.println("usage: ColdGather STORE THREADS SECONDS [ZIPF_S]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        double zipf = args.length == 4 ? Double.parseDouble(args[3]) : 0;
        long seed = System.nanoTime();
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            long rows = store.rows();
            int dim = store.dim();
            System.out.printf("store %s: %d x %d %s, %d threads, %d s, batches of %d, %s ids, seed %d%n", dir, rows, dim,
                    store.dtype().label(), threads, seconds, BATCH, zipf > 0 ? "Zipf(" + zipf + ")" : "uniform", seed);
            int[][][] kept = new int[threads][REPLAY][];
            double[] gathered = run(store, threads, seconds, (t, b) -> {
                SplittableRandom random = new SplittableRandom(seed + t);
                int[] ids = new int[BATCH];
                return () -> {
                    for (int i = 0; i < BATCH; i++) {
                        ids[i] = zipf > 0 ? zipfRow(random.nextDouble(), rows, zipf) : (int) random.nextLong(rows);
                    }
                    if (b[0] < REPLAY) {
                        kept[t][b[0]] = ids.clone();
                    }
                    b[0]++;
                    return ids;
                };
            });
            System.out.printf("RESULT threads=%d rows=%.0f seconds=%.1f rows_per_s=%.0f%n", threads, gathered[0],
                    gathered[1], gathered[0] / gathered[1]);
            if (zipf > 0) {
                System.out.println("gathering again the first " + REPLAY + " batches of each thread (rows read before)");
                double[] resident = run(store, threads, 5, (t, b) -> () -> kept[t][b[0]++ % REPLAY]);
                System.out.printf("RESULT resident threads=%d rows_per_s=%.0f%n", threads, resident[0] / resident[1]);
            }
        }
    }

    /** The 0-based row of Zipf(s) rank {@code k} drawn for {@code u} in [0, 1), by the continuous inverse CDF. */
    static int zipfRow(double u, long rows, double s) {
        double k = Math.pow((Math.pow(rows, 1 - s) - 1) * u + 1, 1 / (1 - s));
        long rank = Math.min(rows, Math.max(1, (long) k));
        return (int) ((rank - 1) * 7919 % rows);
    }

    /** Where a gathering thread's ids come from: thread {@code t}, its batch counter in {@code batch[0]}. */
    interface Ids {
        Supplier<int[]> of(int thread, int[] batch);
    }

    /** Gathers on {@code threads} threads for {@code seconds}, printing each second; returns the rows and seconds. */
    static double[] run(EmbeddingStore store, int threads, int seconds, Ids source) throws InterruptedException {
        int dim = store.dim();
        LongAdder gathered = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            Supplier<int[]> ids = source.of(t, new int[1]);
            Thread worker = new Thread(() -> {
                float[] dst = new float[BATCH * dim];
                try {
                    while (!stop.get()) {
                        store.gather(ids.get(), dst, ReadMode.CONSISTENT);
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
        return new double[] {gathered.sum(), (System.nanoTime() - start) / 1e9};
    }
}
