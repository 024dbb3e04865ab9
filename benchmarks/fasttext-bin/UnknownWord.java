import io.embstore.store.EmbeddingStore;
import io.embstore.store.Subwords;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * In-process time of one unknown word's vector from a store's n-gram buckets ({@link Subwords#vector}): the first
 * call after open, then the median of many distinct words, warm. Run by benchmarks/fasttext-bin/run:
 * java -cp cli/target/embstore.jar UnknownWord.java STORE
 */
public class UnknownWord {
    public static void main(String[] args) {
        long opened = System.nanoTime();
        try (EmbeddingStore table = EmbeddingStore.open(Path.of(args[0]))) {
            Subwords subwords = table.subwords().orElseThrow();
            float[] v = new float[table.dim()];
            long start = System.nanoTime();
            subwords.vector("naïvetyzz", v);
            long first = System.nanoTime() - start;
            long openToFirst = System.nanoTime() - opened;
            int n = 20_000;
            long[] times = new long[n];
            float sink = 0;
            for (int i = 0; i < n; i++) {
                String word = "unseenword" + i;
                long t = System.nanoTime();
                subwords.vector(word, v);
                times[i] = System.nanoTime() - t;
                sink += v[0];
            }
            Arrays.sort(times);
            System.out.printf("first_us=%.1f open_to_first_us=%.1f median_us=%.2f p99_us=%.2f sink=%s%n", first / 1e3,
                    openToFirst / 1e3, times[n / 2] / 1e3, times[n * 99 / 100] / 1e3, sink);
        }
    }
}
