package io.embstore.store;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Not a test: an A/B of {@link SimilarityScan#scan} between two builds of the store classes in one JVM, five calls of
 * one then five of the other, round after round, each build loaded by its own class loader. On a machine shared with
 * other work, two builds timed in separate processes minutes apart differ by more than the change being measured;
 * interleaved in one process they see the same load (benchmarks/results/similarity.md, section 6).
 *
 * <pre>
 * mvn -q -B -pl store -am test-compile        # and keep a copy of the other build's store/target/classes
 * java --add-modules jdk.incubator.vector -cp store/target/test-classes io.embstore.store.ScanAbTimer \
 *     CLASSES_A CLASSES_B STORE QUERIES ROUNDS
 * </pre>
 * Prints, per build, the lower quartile and median of the wall time and of the CPU time summed over all threads. The
 * store must have current norms (a converted store has). Only this class is taken from the classpath (it names the
 * store's classes by string, so that each build's come from its own loader).
 */
public final class ScanAbTimer {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private ScanAbTimer() {
    }

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

    /** One build's scan method and its arguments that are classes of that build. */
    private record Build(String name, Method scan, Object dtype, Object kernel) {
        @SuppressWarnings({"unchecked", "rawtypes"})
        static Build load(String classes, String dtype) throws Exception {
            URLClassLoader loader = new URLClassLoader(new URL[] {Path.of(classes).toUri().toURL()},
                    ClassLoader.getPlatformClassLoader());
            Class<?> scanClass = loader.loadClass("io.embstore.store.SimilarityScan");
            Class dtypeClass = loader.loadClass("io.embstore.store.Dtype");
            Method selected = loader.loadClass("io.embstore.store.SimilarityKernel").getDeclaredMethod("selected");
            selected.setAccessible(true);
            Method scan = null;
            for (Method m : scanClass.getDeclaredMethods()) {
                if (m.getName().equals("scan")) {
                    scan = m;
                }
            }
            scan.setAccessible(true);
            return new Build(classes, scan, Enum.valueOf(dtypeClass, dtype), selected.invoke(null));
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[2]);
        int queries = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        String dtype = null;
        int dim = 0;
        for (String line : Files.readAllLines(dir.resolve("manifest.txt"))) {
            if (line.startsWith("dtype=")) {
                dtype = line.substring(6).trim().toUpperCase(java.util.Locale.ROOT);
            } else if (line.startsWith("dim=")) {
                dim = Integer.parseInt(line.substring(4).trim());
            }
        }
        MemorySegment matrix;
        MemorySegment norms;
        try (FileChannel ch = FileChannel.open(dir.resolve("matrix.npy"))) {
            matrix = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.global());
        }
        try (FileChannel ch = FileChannel.open(dir.resolve(RowNorms.FILE))) {
            norms = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.global());
        }
        long header = io.embstore.store.io.NpyHeader.BYTES;
        long rows = (matrix.byteSize() - header) / ((long) dim * (dtype.equals("F16") ? 2 : 4));
        Build[] builds = {Build.load(args[0], dtype), Build.load(args[1], dtype)};
        float[][] unit = new float[queries][dim];
        SplittableRandom rnd = new SplittableRandom(5);
        for (float[] q : unit) {
            double s = 0;
            for (int i = 0; i < dim; i++) {
                q[i] = (float) rnd.nextGaussian();
                s += q[i] * q[i];
            }
            for (int i = 0; i < dim; i++) {
                q[i] /= (float) Math.sqrt(s);
            }
        }
        List<List<Double>> wall = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<Double>> cpu = List.of(new ArrayList<>(), new ArrayList<>());
        Object[] last = new Object[2];
        // Two rounds of warm-up, not counted.
        for (int round = 0; round < rounds + 2; round++) {
            for (int b = 0; b < 2; b++) {
                for (int call = 0; call < 5; call++) {
                    long c = cpuNanos();
                    long t = System.nanoTime();
                    last[b] = builds[b].scan.invoke(null, matrix, header, builds[b].dtype, rows, dim, -1L, norms, unit, 10,
                            builds[b].kernel);
                    if (round >= 2) {
                        wall.get(b).add((System.nanoTime() - t) / 1e6);
                        cpu.get(b).add((cpuNanos() - c) / 1e6);
                    }
                }
            }
        }
        for (int b = 0; b < 2; b++) {
            List<Double> w = wall.get(b);
            List<Double> c = cpu.get(b);
            Collections.sort(w);
            Collections.sort(c);
            int n = w.size();
            System.out.printf("%s %s queries=%d: wall %.1f / %.1f ms, cpu %.1f / %.1f ms (lower quartile / median of %d);"
                            + " best %s%n", builds[b].name, dtype, queries, w.get(n / 4), w.get(n / 2), c.get(n / 4),
                    c.get(n / 2), n, ((List<?>) ((List<?>) last[b]).get(0)).get(0));
        }
    }
}
