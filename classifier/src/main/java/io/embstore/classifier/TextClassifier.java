package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.INVALID;

import java.nio.file.Path;
import java.util.List;
import java.util.function.IntConsumer;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import io.embstore.store.StoreException;
import org.agrona.collections.IntArrayList;

/**
 * fastText's supervised model over an embstore table: a document's rows (its words, the unknown word for words outside
 * the vocabulary, and the buckets of its word n-grams) are averaged into {@code h}, and a linear softmax layer
 * ({@code logits = W h + b}) gives each label's probability. The arithmetic lives here as static methods that training
 * and prediction share, so a model predicts after loading exactly what it predicted while it was trained.
 */
public final class TextClassifier implements AutoCloseable {
    /** Maps a document's words and n-gram buckets to rows of the table. */
    interface RowLookup {
        /** The word's row, or 0 (the unknown word) when the vocabulary does not have it. */
        int wordRow(String word);

        /** The bucket's row, or -1 when no training n-gram fell into it (it is then left out). */
        int bucketRow(int bucket);
    }

    final ClassifierModel model;
    private final EmbeddingStore store;
    private final RowLookup lookup;
    private float[] gathered = new float[0];
    private final float[] h;

    private TextClassifier(ClassifierModel model, EmbeddingStore store) {
        this.model = model;
        this.store = store;
        this.h = new float[model.dim()];
        this.lookup = new RowLookup() {
            @Override
            public int wordRow(String word) {
                long row = store.rowOf(word);
                return row < 1 || row > model.wordRows ? 0 : (int) row;
            }

            @Override
            public int bucketRow(int bucket) {
                return (int) store.rowOf(ClassifierModel.bucketWord(bucket));
            }
        };
    }

    /**
     * Opens a model directory read-only: its model file and its store, which must agree.
     *
     * @throws ClassifierException naming what is missing or damaged
     */
    public static TextClassifier open(Path dir) {
        ClassifierModel model = ClassifierModel.read(dir);
        EmbeddingStore store;
        try {
            store = EmbeddingStore.open(dir);
        } catch (StoreException e) {
            throw new ClassifierException(INVALID, dir + ": the model's embedding table is damaged: " + e.getMessage(),
                    e);
        }
        long expectedRows = 1L + model.wordRows + model.bucketRows;
        String problem = null;
        if (store.dim() != model.dim()) {
            problem = "the table has dim " + store.dim() + " but " + ClassifierModel.FILE + " says " + model.dim();
        } else if (store.rows() != expectedRows || !store.hasVocabulary()) {
            problem = "the table has " + store.rows() + " rows but " + ClassifierModel.FILE + " says " + expectedRows;
        } else if (!ClassifierModel.UNKNOWN_WORD.equals(store.word(0))) {
            problem = "row 0 of the table is not the unknown word";
        }
        if (problem != null) {
            store.close();
            throw new ClassifierException(INVALID, dir + ": not a consistent model: " + problem);
        }
        return new TextClassifier(model, store);
    }

    /** The model: labels, sizes, output layer. */
    public ClassifierModel model() {
        return model;
    }

    /** The model's embedding table (open read-only; closed with this classifier). */
    public EmbeddingStore table() {
        return store;
    }

    /** The rows of a document: see {@link #features(List, RowLookup, int, int)}. */
    public int[] features(List<String> words) {
        return features(words, lookup, model.hyper.ngrams(), model.hyper.buckets());
    }

    /** Each label's probability for a document's rows, into {@code probs} (one per label). */
    public void probabilities(int[] rows, float[] probs) {
        int dim = model.dim();
        if (gathered.length < rows.length * dim) {
            gathered = new float[Math.max(rows.length * dim, gathered.length * 2)];
        }
        store.gather(rows, gathered, ReadMode.CONSISTENT);
        mean(gathered, 0, rows.length, dim, h);
        softmax(model.weights, model.bias, model.labelCount(), dim, h, probs);
    }

    @Override
    public void close() {
        store.close();
    }

    // ------------------------------------------------------------------------------------------------ features

    /** Every word's {@link Tokenizer#wordHash}, into {@code reuse} when it is large enough. */
    static long[] wordHashes(List<String> words, long[] reuse) {
        long[] hashes = reuse.length >= words.size() ? reuse : new long[Math.max(words.size(), reuse.length * 2)];
        for (int i = 0; i < words.size(); i++) {
            hashes[i] = Tokenizer.wordHash(words.get(i));
        }
        return hashes;
    }

    /** The bucket of every n-gram of 2 to {@code ngrams} consecutive words, in order of their first word. */
    static void forEachBucket(long[] hashes, int n, int ngrams, int buckets, IntConsumer consumer) {
        for (int i = 0; i < n; i++) {
            long h = hashes[i];
            for (int k = 1; k < ngrams && i + k < n; k++) {
                h = Tokenizer.extend(h, hashes[i + k]);
                consumer.accept(Tokenizer.bucket(h, buckets));
            }
        }
    }

    /**
     * A document's rows: one per word (the unknown word's row 0 for words not in the vocabulary), then one per n-gram
     * whose bucket has a row. Buckets no training n-gram fell into are left out rather than averaged in as noise.
     */
    static int[] features(List<String> words, RowLookup lookup, int ngrams, int buckets) {
        IntArrayList rows = new IntArrayList(words.size() * Math.max(1, ngrams), -1);
        for (String w : words) {
            rows.addInt(lookup.wordRow(w));
        }
        if (ngrams > 1 && words.size() > 1) {
            long[] hashes = wordHashes(words, new long[0]);
            forEachBucket(hashes, words.size(), ngrams, buckets, b -> {
                int row = lookup.bucketRow(b);
                if (row >= 0) {
                    rows.addInt(row);
                }
            });
        }
        return rows.toIntArray();
    }

    // ------------------------------------------------------------------------------------------------ arithmetic

    /** {@code h} = the mean of rows {@code [from, from + n)} of {@code gathered} (zeros for an empty document). */
    static void mean(float[] gathered, int from, int n, int dim, float[] h) {
        java.util.Arrays.fill(h, 0, dim, 0f);
        for (int r = 0; r < n; r++) {
            int base = (from + r) * dim;
            for (int j = 0; j < dim; j++) {
                h[j] += gathered[base + j];
            }
        }
        if (n > 0) {
            float inv = 1f / n;
            for (int j = 0; j < dim; j++) {
                h[j] *= inv;
            }
        }
    }

    /** {@code probs} = softmax(W h + b), computed stably (the largest logit subtracted first). */
    static void softmax(float[] weights, float[] bias, int labels, int dim, float[] h, float[] probs) {
        float max = Float.NEGATIVE_INFINITY;
        for (int l = 0; l < labels; l++) {
            float z = bias[l];
            int base = l * dim;
            for (int j = 0; j < dim; j++) {
                z += weights[base + j] * h[j];
            }
            probs[l] = z;
            max = Math.max(max, z);
        }
        float sum = 0;
        for (int l = 0; l < labels; l++) {
            probs[l] = (float) Math.exp(probs[l] - max);
            sum += probs[l];
        }
        float inv = 1f / sum;
        for (int l = 0; l < labels; l++) {
            probs[l] *= inv;
        }
    }

    /** The label with the highest probability (the first of equals). */
    public static int argmax(float[] probs, int labels) {
        int best = 0;
        for (int l = 1; l < labels; l++) {
            if (probs[l] > probs[best]) {
                best = l;
            }
        }
        return best;
    }

    /**
     * One example's forward and backward pass for the cross-entropy loss {@code -log p[target]}, given its {@code n}
     * rows at {@code gathered[from * dim, ...)} and the softmax output {@code probs} of its mean {@code h}:
     * accumulates {@code scale * dL/dW} into {@code dW} and {@code scale * dL/db} into {@code db}, and writes into
     * {@code dRow} the gradient of {@code scale * L} with respect to each of the example's rows (the same for every
     * row, as the mean weighs each by 1/n). Returns the loss.
     */
    static float backward(float[] weights, int labels, int dim, float[] h, float[] probs, int n, int target,
                          float scale, float[] dW, float[] db, float[] dRow) {
        float loss = (float) -Math.log(Math.max(probs[target], 1e-30f));
        java.util.Arrays.fill(dRow, 0, dim, 0f);
        float rowScale = n > 0 ? scale / n : 0f;
        for (int l = 0; l < labels; l++) {
            float delta = probs[l] - (l == target ? 1f : 0f);
            float dz = delta * scale;
            float d = delta * rowScale;
            db[l] += dz;
            int base = l * dim;
            for (int j = 0; j < dim; j++) {
                dW[base + j] += dz * h[j];
                dRow[j] += d * weights[base + j];
            }
        }
        return loss;
    }
}
