package io.embstore.store;

import java.nio.file.Path;

/** Run in a child JVM without {@code --add-modules jdk.incubator.vector} by {@link SimilarityTest}. */
final class ScalarFallbackMain {
    private ScalarFallbackMain() {
    }

    public static void main(String[] args) {
        try (EmbeddingStore s = EmbeddingStore.open(Path.of(args[0]))) {
            int found = s.mostSimilar("w10", 5).size();
            System.out.println("kernel=" + SimilarityKernel.selected().name() + " neighbours=" + found);
        }
    }
}
