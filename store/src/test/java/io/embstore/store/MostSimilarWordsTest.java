package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EmbeddingStore#mostSimilar(List, int)}: several words in one pass, each answered as on its own; and with
 * candidate rows, the ranking of the whole table cut to its first rows.
 */
class MostSimilarWordsTest {
    @TempDir
    Path tmp;

    @Test
    void eachWordGetsWhatItsOwnQueryGivesWithoutItself() {
        int rows = 300;
        int dim = 11;
        List<String> words = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            words.add("w" + r);
        }
        // Init.normal's seed fixes the table: the same rows every run.
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("t")).words(words).dim(dim).init(Init.normal(7))
                .create()) {
            List<String> asked = List.of("w3", "w150", "w299", "w3");
            for (int k : new int[] {0, 1, 5, rows}) {
                List<List<Neighbor>> together = s.mostSimilar(asked, k);
                assertEquals(asked.size(), together.size());
                for (int i = 0; i < asked.size(); i++) {
                    List<Neighbor> alone = s.mostSimilar(asked.get(i), k);
                    assertEquals(alone, together.get(i), asked.get(i) + ", k " + k);
                    assertEquals(Math.min(k, rows - 1), together.get(i).size());
                    String self = asked.get(i);
                    assertFalse(together.get(i).stream().anyMatch(n -> n.word().equals(self)), "never the word itself");
                }
            }
            // the other asked words are not excluded: w150's neighbours may include w3 (here: checked on the full list)
            assertTrue(s.mostSimilar(List.of("w150", "w3"), rows).get(0).stream().anyMatch(n -> n.word().equals("w3")));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> s.mostSimilar(List.of("w1", "absent"), 3));
            assertTrue(e.getMessage().contains("absent"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.mostSimilar(List.of("w1"), -1));
        }
    }

    @Test
    void candidateRowsLeaveTheLaterRowsOutOfTheRanking() {
        int rows = 300;
        int candidates = 120; // as a classifier's words before its n-gram buckets
        List<String> words = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            words.add("w" + r);
        }
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("c")).words(words).dim(7).init(Init.normal(3))
                .create()) {
            for (String word : List.of("w0", "w119", "w200")) { // w200: a query beyond the candidates is allowed
                List<Neighbor> all = s.mostSimilar(word, rows);
                List<Neighbor> expected = all.stream().filter(n -> n.row() < candidates).limit(10).toList();
                assertEquals(expected, s.mostSimilar(List.of(word), 10, candidates).get(0), word);
                List<Neighbor> every = s.mostSimilar(List.of(word), rows, candidates).get(0);
                assertEquals(word.equals("w200") ? candidates : candidates - 1, every.size(), word);
                assertTrue(every.stream().allMatch(n -> n.row() < candidates), word);
            }
            List<Neighbor> analogy = s.analogy("w1", "w2", "w3", rows, candidates);
            assertEquals(candidates - 3, analogy.size());
            assertEquals(s.analogy("w1", "w2", "w3", rows).stream().filter(n -> n.row() < candidates).toList(), analogy);
            assertEquals(List.of(), s.mostSimilar(List.of("w5"), 10, 0).get(0));
            assertThrows(IllegalArgumentException.class, () -> s.mostSimilar(List.of("w5"), 10, -1));
        }
    }

    /** A k far beyond the table (a user's "all of them") answers every eligible row, allocating nothing for k. */
    @Test
    void aHugeKIsCappedAtTheRowCount() {
        int rows = 40;
        List<String> words = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            words.add("w" + r);
        }
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("t")).words(words).dim(5).init(Init.normal(3))
                .create()) {
            for (int k : new int[] {Integer.MAX_VALUE - 1, Integer.MAX_VALUE}) {
                assertEquals(rows - 1, s.mostSimilar(List.of("w1", "w2"), k).get(1).size(), "k " + k);
                assertEquals(rows - 1, s.mostSimilar("w1", k).size(), "k " + k);
                assertEquals(rows, s.mostSimilar(new float[] {1, 2, 3, 4, 5}, k, java.util.Set.of()).size(), "k " + k);
                assertEquals(rows - 3, s.analogy("w1", "w2", "w3", k).size(), "k " + k);
            }
        }
    }
}
