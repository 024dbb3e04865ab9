package io.embstore.index;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.WritableStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Small generated tables with the structure of real embeddings (clusters around random centres, not uniform noise,
 * which makes every index look bad): words {@code w0, w1, ...}, an odd dimension so that SIMD tails run.
 */
final class ClusteredTable {
    static final int DIM = 61;

    private ClusteredTable() {
    }

    /** A store of {@code rows} clustered rows at {@code dir}, made from {@code seed}. */
    static void create(Path dir, int rows, Dtype dtype, long seed) {
        List<String> words = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            words.add("w" + i);
        }
        SplittableRandom random = new SplittableRandom(seed);
        int clusters = Math.max(1, rows / 100);
        float[][] centres = new float[clusters][DIM];
        for (float[] c : centres) {
            for (int d = 0; d < DIM; d++) {
                c[d] = (float) gaussian(random);
            }
        }
        try (WritableStore store = EmbeddingStore.builder(dir).words(words).dim(DIM).dtype(dtype).init(Init.zeros())
                .create()) {
            float[] row = new float[DIM];
            for (int r = 0; r < rows; r++) {
                float[] c = centres[random.nextInt(clusters)];
                for (int d = 0; d < DIM; d++) {
                    row[d] = c[d] + 0.45f * (float) gaussian(random);
                }
                store.write(r, row);
            }
            store.flush();
        }
    }

    static double gaussian(SplittableRandom random) {
        double u = random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v);
    }
}
