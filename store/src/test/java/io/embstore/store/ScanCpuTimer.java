package io.embstore.store;

import io.embstore.store.io.NpyHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Not a test: times {@link SimilarityScan#scan} on a store's files, in wall time and in the CPU time of every thread.
 * CPU time per call is what a loaded machine leaves comparable between two builds run alternately (wall time there
 * measures the neighbours); see benchmarks/results/similarity.md.
 *
 * <pre>
 * mvn -q -B -pl store test-compile
 * java --add-modules jdk.incubator.vector [-Dembstore.vector=scalar] \
 *     -cp store/target/classes:store/target/test-classes io.embstore.store.ScanCpuTimer STORE QUERIES CALLS
 * </pre>
 * The store must have current norms (a converted store has). Prints the lower quartile and the median of CALLS.
 */
public final class ScanCpuTimer {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private ScanCpuTimer() {
    }

    /** CPU time of every live thread, in ns (the process figure counts in 10 ms ticks). */
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

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int queries = Integer.parseInt(args[1]);
        int calls = Integer.parseInt(args[2]);
        try (EmbeddingStore store = EmbeddingStore.open(dir); Arena arena = Arena.ofShared()) {
            int dim = store.dim();
            long rows = store.rows();
            Dtype dtype = store.dtype();
            MemorySegment matrix;
            MemorySegment norms;
            try (FileChannel ch = FileChannel.open(dir.resolve("matrix.npy"))) {
                matrix = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(RowNorms.FILE))) {
                norms = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
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
            SimilarityKernel kernel = SimilarityKernel.selected();
            for (int i = 0; i < 5; i++) {
                SimilarityScan.scan(matrix, NpyHeader.BYTES, dtype, rows, dim, -1, norms, unit, 10, kernel, null, null);
            }
            double[] wall = new double[calls];
            double[] cpu = new double[calls];
            List<List<SimilarityScan.Hit>> last = null;
            for (int i = 0; i < calls; i++) {
                long c = cpuNanos();
                long t = System.nanoTime();
                last = SimilarityScan.scan(matrix, NpyHeader.BYTES, dtype, rows, dim, -1, norms, unit, 10, kernel, null, null);
                wall[i] = (System.nanoTime() - t) / 1e6;
                cpu[i] = (cpuNanos() - c) / 1e6;
            }
            Arrays.sort(wall);
            Arrays.sort(cpu);
            System.out.printf("%s %s queries=%d: wall %.1f / %.1f ms, cpu %.1f / %.1f ms (lower quartile / median of %d); best %s%n",
                    kernel.name(), dtype, queries, wall[calls / 4], wall[calls / 2], cpu[calls / 4], cpu[calls / 2], calls,
                    last.get(0).get(0));
        }
    }
}
