package io.embstore.classifier;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.Object2IntHashMap;

/**
 * The rows of a classifier's embedding table, built from the training documents: row 0 is the unknown word, then the
 * words seen at least {@code minCount} times (most frequent first, ties in order of first appearance, so the same
 * input gives the same rows), then one row per n-gram bucket that occurs in training, in bucket order. Buckets no
 * training n-gram fell into get no row: they would only ever hold their initial values.
 *
 * <p>Counting uses Agrona's open-addressing maps: a word's count lives in the map's int array, not in a boxed
 * {@code Integer} per word, and buckets are plain ints.
 */
final class Vocabulary implements TextClassifier.RowLookup {
    private final List<String> rowWords;
    private final Object2IntHashMap<String> wordRows;
    private final Int2IntHashMap bucketRows;
    private final int wordCount;
    private final int bucketCount;

    private Vocabulary(List<String> rowWords, Object2IntHashMap<String> wordRows, Int2IntHashMap bucketRows,
                       int wordCount, int bucketCount) {
        this.rowWords = rowWords;
        this.wordRows = wordRows;
        this.bucketRows = bucketRows;
        this.wordCount = wordCount;
        this.bucketCount = bucketCount;
    }

    /**
     * Counts the words of {@code documents} and, when {@code ngrams > 1}, the buckets of their n-grams.
     *
     * @param documents each document's lower-cased words, as {@link Tokenizer#split} gives them
     */
    static Vocabulary build(List<List<String>> documents, int minCount, int ngrams, int buckets) {
        Object2IntHashMap<String> ids = new Object2IntHashMap<>(1 << 12, 0.6f, -1);
        IntArrayList counts = new IntArrayList();
        List<String> words = new ArrayList<>();
        for (List<String> doc : documents) {
            for (String w : doc) {
                int id = ids.getValue(w);
                if (id < 0) {
                    ids.put(w, words.size());
                    words.add(w);
                    counts.addInt(1);
                } else {
                    counts.setInt(id, counts.getInt(id) + 1);
                }
            }
        }
        Integer[] order = new Integer[words.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // Stable: equal counts keep their first-appearance order.
        Arrays.sort(order, (a, b) -> Integer.compare(counts.getInt(b), counts.getInt(a)));
        List<String> rowWords = new ArrayList<>();
        rowWords.add(ClassifierModel.UNKNOWN_WORD);
        Object2IntHashMap<String> wordRows = new Object2IntHashMap<>(Math.max(16, order.length * 2), 0.6f, -1);
        for (Integer id : order) {
            if (counts.getInt(id) >= minCount) {
                wordRows.put(words.get(id), rowWords.size());
                rowWords.add(words.get(id));
            }
        }
        int wordCount = rowWords.size() - 1;
        Int2IntHashMap bucketRows = new Int2IntHashMap(16, 0.6f, -1);
        if (ngrams > 1) {
            IntHashSet seen = new IntHashSet();
            long[] hashes = new long[0];
            for (List<String> doc : documents) {
                hashes = TextClassifier.wordHashes(doc, hashes);
                TextClassifier.forEachBucket(hashes, doc.size(), ngrams, buckets, seen::add);
            }
            int[] sorted = new int[seen.size()];
            int k = 0;
            for (IntHashSet.IntIterator it = seen.iterator(); it.hasNext(); ) {
                sorted[k++] = it.nextValue();
            }
            Arrays.sort(sorted);
            for (int b : sorted) {
                bucketRows.put(b, rowWords.size());
                rowWords.add(ClassifierModel.bucketWord(b));
            }
        }
        return new Vocabulary(rowWords, wordRows, bucketRows, wordCount, rowWords.size() - 1 - wordCount);
    }

    /** The word of every row, in row order: the store's vocabulary. */
    List<String> rowWords() {
        return rowWords;
    }

    int wordCount() {
        return wordCount;
    }

    int bucketCount() {
        return bucketCount;
    }

    @Override
    public int wordRow(String word) {
        int row = wordRows.getValue(word);
        return row < 0 ? 0 : row;
    }

    @Override
    public int bucketRow(int bucket) {
        return bucketRows.get(bucket);
    }
}
