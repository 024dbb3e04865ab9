package io.embstore.index;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A reader JVM for {@link AnnIndexProcessesTest}.
 * <ul>
 *   <li>{@code answers DIR N K EF}: prints the approximate answer for words w0..w(N-1), one line each (rows and the
 *       similarities' bits, so that equal lines are equal answers), then exits;</li>
 *   <li>{@code loop DIR K EF STOPFILE}: prints {@code READY}, then queries until STOPFILE exists: with the index it
 *       opened first and with one it opens again every few queries (while another process replaces the file), checking
 *       every answer. Once STOPFILE exists it opens the index once more and checks that its M is the number STOPFILE
 *       holds (the last build's), then prints {@code DONE queries=Q reopened=R recall=X} and exits 0; on any failure it
 *       prints it and exits 1.</li>
 * </ul>
 */
public final class AnnReaderProcess {
    private AnnReaderProcess() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            if (args[0].equals("answers")) {
                int n = Integer.parseInt(args[2]);
                int k = Integer.parseInt(args[3]);
                int ef = Integer.parseInt(args[4]);
                try (AnnIndex index = AnnIndex.open(store)) {
                    for (int i = 0; i < n; i++) {
                        System.out.println(line("w" + i, index.mostSimilar("w" + i, k, ef)));
                    }
                }
                return;
            }
            loop(store, Integer.parseInt(args[2]), Integer.parseInt(args[3]), Path.of(args[4]));
        }
    }

    static String line(String word, List<Neighbor> answer) {
        StringBuilder b = new StringBuilder(word);
        for (Neighbor n : answer) {
            b.append(' ').append(n.row()).append(':').append(Integer.toHexString(Float.floatToIntBits(n.similarity())));
        }
        return b.toString();
    }

    private static void loop(EmbeddingStore store, int k, int ef, Path stop) throws java.io.IOException {
        long queries = 0;
        long reopened = 0;
        long hits = 0;
        System.out.println("READY");
        try (AnnIndex first = AnnIndex.open(store)) {
            while (!Files.exists(stop)) {
                String word = "w" + (queries * 7919 % store.rows());
                AnnIndex index = first;
                boolean fresh = queries % 5 == 4;
                if (fresh) {
                    index = AnnIndex.open(store);
                    reopened++;
                }
                try {
                    List<Neighbor> answer = index.mostSimilar(word, k, ef);
                    hits += check(store, word, answer, k);
                } finally {
                    if (fresh) {
                        index.close();
                    }
                }
                queries++;
            }
            int lastM = Integer.parseInt(Files.readString(stop).strip());
            try (AnnIndex last = AnnIndex.open(store)) {
                if (last.m() != lastM) {
                    throw new AssertionError("the index opened after the last build has M " + last.m() + ", not " + lastM);
                }
                hits += check(store, "w1", last.mostSimilar("w1", k, ef), k);
                queries++;
            }
        } catch (RuntimeException | AssertionError e) {
            System.out.println("FAILED after " + queries + " queries: " + e);
            e.printStackTrace(System.out);
            System.exit(1);
        }
        System.out.printf("DONE queries=%d reopened=%d recall=%.4f%n", queries, reopened, hits / (double) (queries * k));
    }

    /** Checks that {@code answer} is a valid answer; returns how many of the exact top k it holds. */
    private static int check(EmbeddingStore store, String word, List<Neighbor> answer, int k) {
        if (answer.size() != k) {
            throw new AssertionError(word + ": " + answer.size() + " answers, expected " + k);
        }
        float[] query = new float[store.dim()];
        store.read(store.rowOf(word), query);
        float[] row = new float[store.dim()];
        Neighbor previous = null;
        for (Neighbor n : answer) {
            if (n.word().equals(word)) {
                throw new AssertionError(word + " answered itself: " + answer);
            }
            store.read(n.row(), row);
            if ((float) AnnIndex.cosine(query, row) != n.similarity() || !store.word(n.row()).equals(n.word())) {
                throw new AssertionError(word + ": " + n + " is not that row's exact similarity");
            }
            if (previous != null && (previous.similarity() < n.similarity()
                    || previous.similarity() == n.similarity() && previous.row() > n.row())) {
                throw new AssertionError(word + ": out of order: " + answer);
            }
            previous = n;
        }
        Set<Long> exact = new HashSet<>();
        store.mostSimilar(word, k).forEach(n -> exact.add(n.row()));
        int found = 0;
        for (Neighbor n : answer) {
            found += exact.contains(n.row()) ? 1 : 0;
        }
        return found;
    }
}
