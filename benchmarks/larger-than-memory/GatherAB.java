import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;

/**
 * Same-JVM A/B of {@code EmbeddingStore.gather} from two builds of embstore (two benchmarks.jar files, each in its own
 * class loader), on a table in memory: short trials of A and B alternate, so that both see the same load on a shared
 * machine, where separate JMH runs minutes apart moved by 2x. Reports each variant's median rows/s and the median of
 * the per-round ratios B/A, by wall time and by the worker threads' CPU time (steadier when other work shares the
 * cores: a thread waiting for a core is not charged). Used to check that resident gathers did not get slower (benchmarks/results/larger-than-memory.md).
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED benchmarks/larger-than-memory/GatherAB.java A.jar B.jar STORE THREADS MODE ROUNDS
 * </pre>
 * MODE is CONSISTENT or RELAXED; ids are 4096 uniform over the rows; every row is read once by both before timing.
 */
public class GatherAB {
    static final int BATCH = 4096;
    static final int BATCHES_PER_TRIAL = 60;
    static final java.lang.management.ThreadMXBean BEAN = java.lang.management.ManagementFactory.getThreadMXBean();

    record Variant(String name, Object store, MethodHandle gather, Object mode) {
    }

    public static void main(String[] args) throws Throwable {
        Path dir = Path.of(args[2]);
        int threads = Integer.parseInt(args[3]);
        String mode = args[4];
        int rounds = Integer.parseInt(args[5]);
        Variant a = load("A", args[0], dir, mode);
        Variant b = load("B", args[1], dir, mode);
        long rows = (long) a.store.getClass().getMethod("rows").invoke(a.store);
        int dim = (int) a.store.getClass().getMethod("dim").invoke(a.store);
        SplittableRandom random = new SplittableRandom(20_261_204L);
        int[][] batches = new int[256][BATCH];
        for (int[] batch : batches) {
            for (int i = 0; i < BATCH; i++) {
                batch[i] = (int) random.nextLong(rows);
            }
        }
        float[][] dst = new float[threads][BATCH * dim];
        for (Variant v : List.of(a, b)) { // touch every row: page faults are not what is measured
            int[] all = new int[BATCH];
            for (long r = 0; r < rows; r += BATCH) {
                int n = (int) Math.min(BATCH, rows - r);
                for (int i = 0; i < BATCH; i++) {
                    all[i] = (int) (r + (i % n));
                }
                v.gather.invoke(v.store, all, dst[0], v.mode);
            }
        }
        for (int warm = 0; warm < 5; warm++) {
            trial(a, batches, dst, threads);
            trial(b, batches, dst, threads);
        }
        List<Double> ra = new ArrayList<>();
        List<Double> rb = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        List<Double> ca = new ArrayList<>();
        List<Double> cb = new ArrayList<>();
        List<Double> cpuRatio = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            boolean aFirst = round % 2 == 0;
            double[] x = aFirst ? trial(a, batches, dst, threads) : null;
            double[] y = trial(b, batches, dst, threads);
            if (!aFirst) {
                x = trial(a, batches, dst, threads);
            }
            ra.add(x[0]);
            rb.add(y[0]);
            ratio.add(y[0] / x[0]);
            ca.add(x[1]);
            cb.add(y[1]);
            cpuRatio.add(y[1] / x[1]);
        }
        System.out.printf("threads=%d mode=%s rounds=%d: wall: A median %.2f M rows/s, B median %.2f M rows/s,"
                        + " B/A per round median %.3f (quartiles %.3f-%.3f); CPU: A %.2f M rows/CPU-s, B %.2f M,"
                        + " B/A median %.3f (quartiles %.3f-%.3f)%n", threads, mode, rounds,
                median(ra) / 1e6, median(rb) / 1e6, median(ratio), quantile(ratio, 0.25), quantile(ratio, 0.75),
                median(ca) / 1e6, median(cb) / 1e6, median(cpuRatio), quantile(cpuRatio, 0.25), quantile(cpuRatio, 0.75));
    }

    static Variant load(String name, String jar, Path dir, String mode) throws Throwable {
        URLClassLoader loader = new URLClassLoader(new URL[] {Path.of(jar).toUri().toURL()},
                ClassLoader.getPlatformClassLoader());
        Class<?> store = loader.loadClass("io.embstore.store.EmbeddingStore");
        Class<?> readMode = loader.loadClass("io.embstore.store.ReadMode");
        Object opened = store.getMethod("open", Path.class).invoke(null, dir);
        MethodHandle gather = MethodHandles.publicLookup().findVirtual(store, "gather",
                MethodType.methodType(void.class, int[].class, float[].class, readMode));
        @SuppressWarnings({"unchecked", "rawtypes"})
        Object m = Enum.valueOf((Class) readMode, mode);
        return new Variant(name, opened, gather, m);
    }

    /**
     * Rows per second of {@link #BATCHES_PER_TRIAL} gathers on each of {@code threads} threads, and rows per second of
     * the threads' CPU time.
     */
    static double[] trial(Variant v, int[][] batches, float[][] dst, int threads) throws Exception {
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        long[] cpu = new long[threads];
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int me = t;
            workers[t] = new Thread(() -> {
                try {
                    start.await();
                    long c0 = BEAN.getCurrentThreadCpuTime();
                    for (int i = 0; i < BATCHES_PER_TRIAL; i++) {
                        v.gather.invoke(v.store, batches[(i * 7 + me * 101) & 255], dst[me], v.mode);
                    }
                    cpu[me] = BEAN.getCurrentThreadCpuTime() - c0;
                } catch (Throwable e) {
                    throw new RuntimeException(e);
                }
            });
            workers[t].start();
        }
        start.await();
        long t0 = System.nanoTime();
        for (Thread w : workers) {
            w.join();
        }
        double rows = (double) threads * BATCHES_PER_TRIAL * BATCH;
        return new double[] {rows / ((System.nanoTime() - t0) / 1e9), rows / (Arrays.stream(cpu).sum() / 1e9)};
    }

    static double median(List<Double> xs) {
        return quantile(xs, 0.5);
    }

    static double quantile(List<Double> xs, double q) {
        double[] s = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[(int) Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
    }
}
