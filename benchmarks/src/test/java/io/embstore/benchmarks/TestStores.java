package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The small stores the benchmarks' tests run their probes and load generators on. */
final class TestStores {
    private TestStores() {
    }

    /** A store {@code dir/words} of {@code rows} words w0, w1, ... with normal(3) rows of {@code dim}. */
    static Path wordStore(Path dir, int rows, int dim) {
        Path store = dir.resolve("words");
        List<String> words = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            words.add("w" + i);
        }
        EmbeddingStore.builder(store).words(words).dim(dim).init(Init.normal(3)).create().close();
        return store;
    }
}
