package io.embstore.trainer;

import io.embstore.store.EmbeddingStore;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The reader JVM of {@link ReadersWhileTrainingTest}: reads random rows of a store that is being trained for the given
 * milliseconds, and on past them (up to 30 s, a liveness bound) until it has read {@link #MIN_READS} rows, so that a
 * loaded machine makes the run longer rather than the check weaker; counts rows whose values are not all equal (the
 * trainer keeps every row uniform, so a non-uniform read is a torn one). Prints {@code reads N torn T generations G}.
 *
 * <p>Arguments: store directory, milliseconds, seed.
 */
public final class UniformRowReader {
    /** Rows read before the reader stops: fewer would not mean much. */
    static final long MIN_READS = 10_000;

    private UniformRowReader() {
    }

    public static void main(String[] args) {
        long start = System.nanoTime();
        long until = start + Long.parseLong(args[1]) * 1_000_000;
        long deadline = start + 30_000_000_000L;
        SplittableRandom r = new SplittableRandom(Long.parseLong(args[2]));
        System.out.println("ready");
        System.out.flush();
        try (EmbeddingStore s = EmbeddingStore.open(Path.of(args[0]))) {
            float[] row = new float[s.dim()];
            long reads = 0;
            long torn = 0;
            long changed = 0;
            long generation = s.generation();
            int[] ids = new int[64];
            float[] batch = new float[ids.length * s.dim()];
            while (System.nanoTime() < until || (reads < MIN_READS && System.nanoTime() < deadline)) {
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = r.nextInt(16) == 0 ? r.nextInt((int) s.rows()) : r.nextInt(8);
                }
                s.gather(ids, batch); // nn.Embedding's forward, each row read consistently
                for (int i = 0; i < ids.length; i++) {
                    for (int d = 1; d < row.length; d++) {
                        if (batch[i * row.length + d] != batch[i * row.length]) {
                            torn++;
                            break;
                        }
                    }
                }
                reads += ids.length;
                long g = s.generation();
                if (g != generation) {
                    changed++;
                    generation = g;
                }
            }
            System.out.println("reads " + reads + " torn " + torn + " generations " + changed);
        }
    }
}
