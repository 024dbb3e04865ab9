package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.INVALID;
import static io.embstore.classifier.ClassifierException.Kind.NOT_FOUND;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import io.embstore.store.StoreException;
import io.embstore.store.SubwordLayout;
import io.embstore.store.Subwords;
import io.embstore.store.WritableStore;
import org.agrona.collections.Object2IntHashMap;
import org.roaringbitmap.RoaringBitmap;

/**
 * The word rows a classifier starts from when {@code train-classifier --pretrained STORE} is given: each vocabulary
 * word (already normalised by the {@link Tokenizer}: lower-cased) takes the store's row of the same word. The store is
 * only read, in any dtype (f16 and quantized rows are read as float32).
 *
 * <p>Matching, when several store words normalise to the same token: the store's word spelled exactly as the token
 * (the lower-case form) wins; otherwise the store's lowest row among its case variants wins ("The" before "THE"). The
 * vector files people convert (word2vec, GloVe, fastText) list words most frequent first, so the lowest row is the
 * most frequent spelling, the one whose vector was trained on the most text.
 *
 * <p>A store converted from a fastText {@code .bin} model ({@link EmbeddingStore#subwords()}) also gives the words it
 * lacks a row: the vector fastText gives an unknown word, the mean of its character n-gram rows. Such rows count as
 * pretrained (they are frozen with {@code --freeze}) and are reported apart from the words found.
 */
final class PretrainedRows implements AutoCloseable {
    /** Source rows are read in blocks of this many: one gather, one buffer. */
    private static final int BLOCK = 1024;

    private final EmbeddingStore source;
    private final Path dir;

    /** For each table row, the store's row that starts it, or -1 (the row starts at random). */
    private int[] sourceRow = new int[0];
    private int found;
    /** Table rows built from the store's n-gram rows, and their vectors ({@code dim} values each, in that order). */
    private int[] subwordRows = new int[0];
    private float[] subwordVectors = new float[0];

    private PretrainedRows(EmbeddingStore source, Path dir) {
        this.source = source;
        this.dir = dir;
    }

    /**
     * Opens the store read-only and checks that it can give word rows.
     *
     * @throws ClassifierException NOT_FOUND when there is no such directory, INVALID when it is not a store or has no
     *                             vocabulary (a table of ids)
     */
    static PretrainedRows open(Path dir) {
        EmbeddingStore store;
        try {
            store = EmbeddingStore.open(dir);
        } catch (StoreException e) {
            throw new ClassifierException(e.kind() == StoreException.Kind.NOT_FOUND ? NOT_FOUND : INVALID,
                    "--pretrained " + e.getMessage(), e);
        }
        if (!store.hasVocabulary()) {
            store.close();
            throw new ClassifierException(INVALID, "--pretrained " + dir + ": the store has no words (a table of ids):"
                    + " pretrained rows are matched by word; convert a vector file with words instead");
        }
        return new PretrainedRows(store, dir);
    }

    int dim() {
        return source.dim();
    }

    /**
     * Finds the store's row of every word of {@code rowWords} (the table's words in row order; only rows
     * {@code 1..words} are words, row 0 being the unknown word).
     *
     * @throws ClassifierException INVALID when no word at all is in the store: training would silently start from
     *                             random rows while recording a pretrained origin
     */
    void match(List<String> rowWords, int words) {
        sourceRow = new int[1 + words];
        Arrays.fill(sourceRow, -1);
        // The exact spelling first: one hash lookup per word.
        String[] wanted = rowWords.subList(1, 1 + words).toArray(new String[0]);
        long[] rows = new long[words];
        source.rowsOf(wanted, words, rows);
        Object2IntHashMap<String> missing = new Object2IntHashMap<>(16, 0.6f, -1);
        for (int i = 0; i < words; i++) {
            if (rows[i] >= 0) {
                sourceRow[1 + i] = (int) rows[i];
                found++;
            } else {
                missing.put(wanted[i], 1 + i);
            }
        }
        if (!missing.isEmpty()) {
            // Then the other spellings that normalise to a missing word, the store's lowest row first.
            long n = source.rows();
            SubwordLayout layout = source.subwords().map(Subwords::layout).orElse(null);
            for (long row = 0; row < n && !missing.isEmpty(); row++) {
                if (layout != null && layout.isBucketRow(row)) {
                    row = layout.firstBucketRow() + layout.buckets() - 1; // n-gram rows have no words to match
                    continue;
                }
                String word = source.word(row);
                String token = word.toLowerCase(Locale.ROOT);
                if (token.equals(word)) {
                    continue; // an exact spelling: found above if it was wanted
                }
                int tableRow = missing.removeKey(token);
                if (tableRow >= 0) {
                    sourceRow[tableRow] = (int) row;
                    found++;
                }
            }
            if (!missing.isEmpty() && source.subwords().isPresent()) {
                fromSubwords(source.subwords().get(), missing);
            }
            // Words still missing start at random.
        }
        if (found == 0 && subwordRows.length == 0) {
            throw new ClassifierException(INVALID, "--pretrained " + dir + ": none of the " + words + " words of the"
                    + " training data is in the store (matched lower-cased): is it a table of another language?");
        }
    }

    /** Gives each missing word with at least one n-gram the store's vector of an unknown word. */
    private void fromSubwords(Subwords subwords, Object2IntHashMap<String> missing) {
        int dim = source.dim();
        int[] rows = new int[missing.size()];
        float[] vectors = new float[missing.size() * dim];
        float[] v = new float[dim];
        int n = 0;
        for (String word : missing.keySet()) {
            if (subwords.vector(word, v) > 0) {
                rows[n] = missing.getValue(word);
                System.arraycopy(v, 0, vectors, n * dim, dim);
                n++;
            }
        }
        subwordRows = Arrays.copyOf(rows, n);
        subwordVectors = Arrays.copyOf(vectors, n * dim);
    }

    /** How many words {@link #match} found. */
    int found() {
        return found;
    }

    /** How many missing words {@link #match} gave their n-gram vector. */
    int fromSubwords() {
        return subwordRows.length;
    }

    /** The table rows that start from the store: words found and words built from n-grams. */
    RoaringBitmap rows() {
        RoaringBitmap out = RoaringBitmap.bitmapOf(subwordRows);
        for (int r = 0; r < sourceRow.length; r++) {
            if (sourceRow[r] >= 0) {
                out.add(r);
            }
        }
        return out;
    }

    /** Copies the matched rows into {@code table} (as float32, whatever the store's dtype). */
    void copyInto(WritableStore table) {
        int dim = source.dim();
        int[] from = new int[BLOCK];
        int[] to = new int[BLOCK];
        float[] buffer = new float[BLOCK * dim];
        int n = 0;
        for (int r = 0; r <= sourceRow.length; r++) {
            if (r < sourceRow.length && sourceRow[r] >= 0) {
                from[n] = sourceRow[r];
                to[n++] = r;
            }
            if (n == BLOCK || (r == sourceRow.length && n > 0)) {
                source.gather(n == BLOCK ? from : Arrays.copyOf(from, n), buffer, ReadMode.CONSISTENT);
                for (int k = 0; k < n; k++) {
                    table.write(to[k], buffer, k * dim);
                }
                n = 0;
            }
        }
        for (int k = 0; k < subwordRows.length; k++) {
            table.write(subwordRows[k], subwordVectors, k * dim);
        }
    }

    /** What the model records about where its rows came from. */
    ClassifierModel.Pretrained provenance(boolean frozen) {
        return new ClassifierModel.Pretrained(dir.toAbsolutePath().normalize().toString(), source.generation(),
                source.recordedMatrixChecksum(), found, frozen, subwordRows.length);
    }

    @Override
    public void close() {
        source.close();
    }
}
