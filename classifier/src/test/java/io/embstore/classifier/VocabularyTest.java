package io.embstore.classifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

class VocabularyTest {
    private static final List<List<String>> DOCS = List.of(
            List.of("the", "film", "is", "good"),
            List.of("the", "plot", "is", "thin"),
            List.of("good", "cast", "the", "end"));

    @Test
    void rowZeroIsTheUnknownWordThenMostFrequentFirstTiesInOrderOfAppearance() {
        Vocabulary v = Vocabulary.build(DOCS, 1, 1, 100);
        // the x3; is, good x2 (is first seen before good); then the singletons in order of appearance.
        assertEquals(List.of(ClassifierModel.UNKNOWN_WORD, "the", "is", "good", "film", "plot", "thin", "cast", "end"),
                v.rowWords());
        assertEquals(8, v.wordCount());
        assertEquals(0, v.bucketCount());
        assertEquals(1, v.wordRow("the"));
        assertEquals(3, v.wordRow("good"));
        assertEquals(0, v.wordRow("missing"));
    }

    @Test
    void wordsUnderTheMinimumCountAreTheUnknownWord() {
        Vocabulary v = Vocabulary.build(DOCS, 2, 1, 100);
        assertEquals(List.of(ClassifierModel.UNKNOWN_WORD, "the", "is", "good"), v.rowWords());
        assertEquals(0, v.wordRow("film"));
        assertArrayEquals(new int[] {1, 0, 2, 3}, TextClassifier.features(DOCS.get(0), v, 1, 100));
        assertEquals(0, Vocabulary.build(DOCS, 4, 1, 100).wordCount());
    }

    @Test
    void onlyBucketsSeenInTrainingGetRowsInBucketOrder() {
        int buckets = 1_000_003;
        Vocabulary v = Vocabulary.build(DOCS, 1, 2, buckets);
        TreeSet<Integer> expected = new TreeSet<>();
        for (List<String> doc : DOCS) {
            long[] hashes = TextClassifier.wordHashes(doc, new long[0]);
            TextClassifier.forEachBucket(hashes, doc.size(), 2, buckets, expected::add);
        }
        assertEquals(expected.size(), v.bucketCount());
        int row = 1 + v.wordCount();
        for (int b : expected) {
            assertEquals(row, v.bucketRow(b));
            assertEquals(ClassifierModel.bucketWord(b), v.rowWords().get(row));
            row++;
        }
        assertEquals(-1, v.bucketRow(expected.last() + 1 == buckets ? 0 : expected.last() + 1));
        // A document's rows: its words, then the rows of its bigrams' buckets.
        int[] rows = TextClassifier.features(List.of("the", "film", "unseen"), v, 2, buckets);
        assertEquals(1, rows[0]);
        assertEquals(4, rows[1]);
        assertEquals(0, rows[2]);
        assertEquals(4, rows.length, "'the film' was seen in training; 'film unseen' most likely not");
        assertTrue(rows[3] > v.wordCount());
    }
}
