package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.store.Dtype;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.List;

/**
 * The stores the benchmarks read, created on first use under {@code /tmp/embstore-bench} (override with
 * {@code -Dembstore.bench.dir=DIR}) and reused by every later trial and run when they exist with the expected shape.
 * Creation is atomic (the store's own create), so an interrupted run leaves no half-built store behind. A directory
 * with the right name but the wrong shape is an error that names it: this class never deletes anything.
 */
final class BenchStores {
    /** Dimensions of every benchmark store. */
    static final int DIM = 300;
    /** Rows of the gather tables. */
    static final int GATHER_ROWS = Integer.getInteger("embstore.bench.gatherRows", 1_000_000);
    /** Seed of the gather tables' Normal(0, 1) rows. */
    static final long GATHER_SEED = 42;

    private BenchStores() {
    }

    /** The root directory of the benchmark data. */
    static Path root() {
        return Path.of(System.getProperty("embstore.bench.dir", "/tmp/embstore-bench"));
    }

    /** Word {@code i} of every vocabulary store. */
    static String word(long i) {
        return "w" + i;
    }

    /**
     * A store of {@code rows} x {@value #DIM} f32 rows, all zero (nothing written; the blocks are reserved), with the vocabulary
     * {@code "w0", "w1", ...}.
     */
    static Path vocabularyStore(int rows) {
        Path dir = root().resolve("vocab-" + rows + "x" + DIM + "-f32-zeros");
        if (!Files.exists(dir)) {
            long t0 = System.nanoTime();
            List<String> words = new AbstractList<>() {
                @Override
                public String get(int index) {
                    return word(index);
                }

                @Override
                public int size() {
                    return rows;
                }
            };
            try (WritableStore s = EmbeddingStore.builder(dir).words(words).dim(DIM).dtype(Dtype.F32)
                    .init(Init.zeros()).create()) {
                log("created " + s + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            }
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            check(dir, s.rows() == rows && s.dim() == DIM && s.dtype() == Dtype.F32 && s.hasVocabulary()
                    && s.rowOf(word(rows - 1)) == rows - 1, s + ", expected " + rows + " x " + DIM + " f32 with words w0..");
        }
        return dir;
    }

    /** A table of {@value #GATHER_ROWS} x {@value #DIM} rows of Normal(0, 1) in {@code dtype}, without a vocabulary. */
    static Path gatherStore(Dtype dtype) {
        Path dir = root().resolve("gather-" + GATHER_ROWS + "x" + DIM + "-" + dtype.label() + "-normal" + GATHER_SEED);
        if (!Files.exists(dir)) {
            long t0 = System.nanoTime();
            try (WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(GATHER_ROWS).dim(DIM).dtype(dtype)
                    .init(Init.normal(GATHER_SEED)).create()) {
                log("created " + s + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            }
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            check(dir, s.rows() == GATHER_ROWS && s.dim() == DIM && s.dtype() == dtype && !s.hasVocabulary(),
                    s + ", expected " + GATHER_ROWS + " x " + DIM + " " + dtype.label() + " without a vocabulary");
        }
        return dir;
    }

    private static void check(Path dir, boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(dir + " exists with another shape: " + what
                    + "; delete it (it is benchmark data) or point -Dembstore.bench.dir elsewhere");
        }
    }

    private static void log(String message) {
        System.out.println("# embstore-bench: " + message);
    }
}
