package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Times {@code mostSimilar} in one process the way the peer harness times gensim's: open the store, one warm-up
 * query, then N queries for words spread over the vocabulary; prints the median in milliseconds as JSON.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.QueryTimer STORE N K
 * </pre>
 */
public final class QueryTimer {
    private QueryTimer() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int queries = Integer.parseInt(args[1]);
        int k = Integer.parseInt(args[2]);
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            for (int w = 0; w < 5; w++) {
                store.mostSimilar(store.word(w), k);
            }
            double[] ms = new double[queries];
            for (int i = 0; i < queries; i++) {
                String word = store.word((i * 7919L) % store.rows());
                long t = System.nanoTime();
                store.mostSimilar(word, k);
                ms[i] = (System.nanoTime() - t) / 1e6;
            }
            Arrays.sort(ms);
            System.out.println("{\"median_ms\": " + ms[queries / 2] + "}");
        }
    }
}
