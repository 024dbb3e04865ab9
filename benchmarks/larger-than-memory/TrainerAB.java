import io.embstore.benchmarks.OptimizerStepBenchmark;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Same-JVM A/B of {@code SparseTrainer.step} (lazy Adam) from two builds of embstore (two benchmarks.jar files, each in
 * its own class loader), each training its own copy of a table in memory: short trials of A and B alternate, so that
 * both see the same load on a shared machine (JMH runs minutes apart do not). Steps of 4096 ids drawn from Zipf(1.05)
 * over the rows, hot rows scattered: OptimizerStepBenchmark's steps (taken from the jar on the class path), undo log
 * off. Reports each variant's median unique
 * rows/s and the median of the per-round ratios B/A, by wall time and by the process's CPU time (both trainers' threads
 * included; the idle one's workers park). Used to check that resident steps did not get slower
 * (benchmarks/results/larger-than-memory.md).
 *
 * <pre>
 * ./embstore create /tmp/a --rows 1000000 --dim 128 --init normal --seed 1 (and /tmp/b the same)
 * java --enable-native-access=ALL-UNNAMED -cp B.jar benchmarks/larger-than-memory/TrainerAB.java A.jar B.jar /tmp/a /tmp/b \
 *     THREADS ROUNDS
 * </pre>
 */
public class TrainerAB {
    static final int IDS = 4096;
    /** Pre-drawn steps, cycled through (as OptimizerStepBenchmark.BATCHES). */
    static final int BATCHES = 64;
    static final int STEPS_PER_TRIAL = 40;
    static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    record Variant(String name, Object trainer, MethodHandle step) {
    }

    public static void main(String[] args) throws Throwable {
        int threads = Integer.parseInt(args[4]);
        int rounds = Integer.parseInt(args[5]);
        Variant a = load("A", args[0], Path.of(args[2]), threads);
        Variant b = load("B", args[1], Path.of(args[3]), threads);
        long rows = rowsOf(args[2]);
        int dim = 128;
        int[][] ids = OptimizerStepBenchmark.zipfBatches((int) rows, BATCHES, 7);
        long uniqueTotal = 0;
        int[] unique = new int[BATCHES];
        for (int i = 0; i < BATCHES; i++) {
            unique[i] = (int) java.util.stream.IntStream.of(ids[i]).distinct().count();
            uniqueTotal += unique[i];
        }
        float[] grads = new float[IDS * dim];
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < grads.length; i++) {
            grads[i] = (float) (r.nextGaussian() * 0.01);
        }
        for (int pass = 0; pass < 3; pass++) { // faults in the pages and compiles the kernels
            for (Variant v : List.of(a, b)) {
                for (int[] batch : ids) {
                    v.step.invoke(v.trainer, batch, grads);
                }
            }
        }
        double rowsPerTrial = (double) uniqueTotal / BATCHES * STEPS_PER_TRIAL;
        List<Double> ra = new ArrayList<>();
        List<Double> rb = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        List<Double> cpuRatio = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            boolean aFirst = round % 2 == 0;
            double[] x = aFirst ? trial(a, ids, grads, round) : null;
            double[] y = trial(b, ids, grads, round);
            if (!aFirst) {
                x = trial(a, ids, grads, round);
            }
            ra.add(rowsPerTrial / x[0]);
            rb.add(rowsPerTrial / y[0]);
            ratio.add(x[0] / y[0]);
            cpuRatio.add(x[1] / y[1]);
        }
        System.out.printf("threads=%d rounds=%d, %.0f unique rows a step: wall: A median %.3f M unique rows/s, B median"
                        + " %.3f M, B/A per round median %.3f (quartiles %.3f-%.3f); CPU: B/A median %.3f (quartiles"
                        + " %.3f-%.3f)%n", threads, rounds, (double) uniqueTotal / BATCHES, median(ra) / 1e6,
                median(rb) / 1e6, median(ratio), quantile(ratio, 0.25), quantile(ratio, 0.75), median(cpuRatio),
                quantile(cpuRatio, 0.25), quantile(cpuRatio, 0.75));
        System.exit(0); // the trainers are not closed: a checkpoint would force every dirty row, which is not measured
    }

    static long rowsOf(String dir) throws Exception {
        for (String line : java.nio.file.Files.readAllLines(Path.of(dir, "manifest.txt"))) {
            if (line.startsWith("rows=")) {
                return Long.parseLong(line.substring(5).strip());
            }
        }
        throw new IllegalStateException("no rows= in " + dir + "/manifest.txt");
    }

    static Variant load(String name, String jar, Path dir, int threads) throws Throwable {
        URLClassLoader loader = new URLClassLoader(new URL[] {Path.of(jar).toUri().toURL()},
                ClassLoader.getPlatformClassLoader());
        Class<?> store = loader.loadClass("io.embstore.store.EmbeddingStore");
        Class<?> trainer = loader.loadClass("io.embstore.trainer.SparseTrainer");
        Class<?> options = loader.loadClass("io.embstore.trainer.SparseTrainer$Options");
        Class<?> builder = loader.loadClass("io.embstore.trainer.SparseTrainer$Options$Builder");
        Object opened = store.getMethod("openForWriting", Path.class).invoke(null, dir);
        Object b = options.getMethod("adam").invoke(null);
        b = builder.getMethod("threads", int.class).invoke(b, threads);
        b = builder.getMethod("undoLog", boolean.class).invoke(b, false);
        Object o = builder.getMethod("build").invoke(b);
        Object attached = trainer.getMethod("attach", store, options).invoke(null, opened, o);
        MethodHandle step = MethodHandles.publicLookup().findVirtual(trainer, "step",
                MethodType.methodType(long.class, int[].class, float[].class));
        return new Variant(name, attached, step);
    }

    /** Seconds of wall time and of process CPU time for {@link #STEPS_PER_TRIAL} steps. */
    static double[] trial(Variant v, int[][] ids, float[] grads, int round) throws Throwable {
        long c0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        for (int i = 0; i < STEPS_PER_TRIAL; i++) {
            long t = (long) v.step.invoke(v.trainer, ids[(round * STEPS_PER_TRIAL + i) % BATCHES], grads);
        }
        return new double[] {(System.nanoTime() - t0) / 1e9, (OS.getProcessCpuTime() - c0) / 1e9};
    }

    static double median(List<Double> xs) {
        return quantile(xs, 0.5);
    }

    static double quantile(List<Double> xs, double q) {
        double[] s = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[(int) Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
    }
}
