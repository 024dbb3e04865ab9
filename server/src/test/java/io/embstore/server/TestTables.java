package io.embstore.server;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Small stores for the server's tests, with values whose decimal printing is easy to get wrong. */
final class TestTables {
    private TestTables() {
    }

    /** Floats whose shortest decimal is long, tiny or extreme: what a lossy printer or parser would change. */
    static final float[] AWKWARD = {
            -0.0f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, 1e-45f, 3.4028235e38f,
            0.1f, 1.0f / 3, 2.7182817f, 16777217f, 1.17549435E-38f, 9.999999e-39f, 123456.79f};

    /** The word of row {@code i}: ASCII mostly, some not. */
    static String word(int i) {
        return switch (i % 7) {
            case 3 -> "café" + i;
            case 5 -> "日本" + i;
            default -> "w" + i;
        };
    }

    /** A store of {@code rows} x {@code dim} with words ({@link #word}) and random plus {@link #AWKWARD} values. */
    static Path create(Path dir, int rows, int dim, long seed) {
        List<String> words = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            words.add(word(i));
        }
        Random random = new Random(seed);
        try (WritableStore s = EmbeddingStore.builder(dir).dim(dim).words(words).create()) {
            float[] v = new float[dim];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < dim; j++) {
                    v[j] = random.nextInt(4) == 0 ? AWKWARD[random.nextInt(AWKWARD.length)]
                            : (float) random.nextGaussian();
                }
                s.write(r, v);
            }
        }
        return dir;
    }

    /** An id-indexed store (no vocabulary). */
    static Path createIds(Path dir, int rows, int dim, long seed) {
        Random random = new Random(seed);
        try (WritableStore s = EmbeddingStore.builder(dir).rows(rows).dim(dim).vocabulary(false).create()) {
            float[] v = new float[dim];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < dim; j++) {
                    v[j] = (float) random.nextGaussian();
                }
                s.write(r, v);
            }
        }
        return dir;
    }
}
