package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * q8 against f32 gathers in one JVM, interleaved: each round gathers 64 batches of 4096 uniform ids from the f32 table,
 * then from the q8 one (the tables of {@link GatherBenchmark}, made by its first run), and prints the median rows/s of
 * rounds 10-29. On a loaded machine JMH's separate trials of {@code GatherBenchmark} drift more than the two dtypes
 * differ; interleaving exposes both to the same load. Run:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     io.embstore.benchmarks.QuantizedGatherProbe /tmp/embstore-bench 42 RELAXED|CONSISTENT
 * </pre>
 * Arguments: the bench directory, the tables' seed, the read mode.
 */
public final class QuantizedGatherProbe {
    private QuantizedGatherProbe() {
    }

    public static void main(String[] args) {
        Path root = Path.of(args[0]);
        ReadMode mode = ReadMode.valueOf(args[2]);
        try (EmbeddingStore f32 = EmbeddingStore.open(root.resolve("gather-1000000x300-f32-normal" + args[1]));
             EmbeddingStore q8 = EmbeddingStore.open(root.resolve("gather-1000000x300-q8-normal" + args[1]))) {
            List<EmbeddingStore> stores = List.of(f32, q8);
            // Every row once, so that page faults of a cold mapping are not measured.
            float[] row = new float[f32.dim()];
            for (EmbeddingStore s : stores) {
                for (long r = 0; r < s.rows(); r++) {
                    s.read(r, row, 0, ReadMode.RELAXED);
                }
            }
            SplittableRandom random = new SplittableRandom(1);
            int[][] batches = new int[256][GatherBenchmark.BATCH];
            for (int[] batch : batches) {
                for (int i = 0; i < batch.length; i++) {
                    batch[i] = random.nextInt((int) f32.rows());
                }
            }
            float[] dst = new float[GatherBenchmark.BATCH * f32.dim()];
            int rounds = 30;
            double[][] rates = new double[stores.size()][rounds];
            for (int round = 0; round < rounds; round++) {
                for (int s = 0; s < stores.size(); s++) {
                    long t0 = System.nanoTime();
                    for (int k = 0; k < 64; k++) {
                        stores.get(s).gather(batches[(round * 64 + k) & 255], dst, mode);
                    }
                    rates[s][round] = 64.0 * GatherBenchmark.BATCH / ((System.nanoTime() - t0) / 1e9);
                }
            }
            for (int s = 0; s < stores.size(); s++) {
                double[] kept = Arrays.copyOfRange(rates[s], 10, rounds);
                Arrays.sort(kept);
                System.out.printf("%s %s median %.2f M rows/s%n", stores.get(s).dtype().label(), mode,
                        kept[kept.length / 2] / 1e6);
            }
        }
    }
}
