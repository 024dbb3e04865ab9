package io.embstore.store;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * fastText's vectors for words a store does not have, from its character n-gram bucket rows: the mean of the rows
 * of the n-grams of {@code <word>}, computed as fastText's {@code Dictionary::computeSubwords} and
 * {@code FastText::getWordVector} do (so {@code fasttext print-word-vectors} prints the same values to float
 * rounding). A store has one when it was converted from a {@code .bin} model ({@link EmbeddingStore#subwords()}).
 *
 * <p>Words the store has need none of this: their rows already hold fastText's vector of the word (its own input
 * row averaged with its n-gram rows, composed when the model was converted), as {@code print-word-vectors} and the
 * model's {@code .vec} file give it.
 */
public final class Subwords {
    private static final int FNV_OFFSET = 0x811c9dc5;
    private static final int FNV_PRIME = 16777619;

    private final EmbeddingStore store;
    private final SubwordLayout layout;

    Subwords(EmbeddingStore store, SubwordLayout layout) {
        this.store = store;
        this.layout = layout;
    }

    /** The n-gram lengths, the bucket count and where the buckets start. */
    public SubwordLayout layout() {
        return layout;
    }

    /**
     * Writes into {@code dst[0, dim)} the mean of the bucket rows of {@code word}'s n-grams, the vector fastText gives
     * a word it does not know, and returns how many n-grams there were (0 leaves zeros, as fastText prints them).
     */
    public int vector(String word, float[] dst) {
        int dim = store.dim();
        if (dst.length < dim) {
            throw new IllegalArgumentException("dst has " + dst.length + " values, the store's dim is " + dim);
        }
        long[] buckets = ngramBuckets(word.getBytes(StandardCharsets.UTF_8), layout.minn(), layout.maxn(), layout.buckets());
        Arrays.fill(dst, 0, dim, 0f);
        float[] row = new float[dim];
        for (long b : buckets) {
            store.read(layout.firstBucketRow() + b, row);
            for (int i = 0; i < dim; i++) {
                dst[i] += row[i];
            }
        }
        scaleByCount(dst, dim, buckets.length);
        return buckets.length;
    }

    /**
     * Divides {@code v[0, dim)} by {@code count} as fastText does: a multiply by {@code 1.0 / count} rounded to
     * float ({@code Vector::mul(real)}), not a division, so that the result matches it bit for bit.
     */
    public static void scaleByCount(float[] v, int dim, int count) {
        if (count > 0) {
            float scale = (float) (1.0 / count);
            for (int i = 0; i < dim; i++) {
                v[i] *= scale;
            }
        }
    }

    /**
     * The buckets ({@code [0, buckets)}) of the n-grams of {@code "<" + word + ">"} of {@code minn} to {@code maxn}
     * characters, in fastText's order, duplicates kept (fastText averages them as often as they occur). Characters
     * are counted as fastText counts them: a byte starts a character unless it is a UTF-8 continuation byte
     * ({@code 10xxxxxx}); the lone {@code <} and {@code >} are never n-grams. fastText gives its end-of-sentence
     * token {@code </s>} none.
     */
    public static long[] ngramBuckets(byte[] word, int minn, int maxn, long buckets) {
        if (word.length == 4 && word[0] == '<' && word[1] == '/' && word[2] == 's' && word[3] == '>') {
            return new long[0];
        }
        byte[] w = new byte[word.length + 2];
        w[0] = '<';
        System.arraycopy(word, 0, w, 1, word.length);
        w[w.length - 1] = '>';
        long[] out = new long[16];
        int count = 0;
        for (int i = 0; i < w.length; i++) {
            if (isContinuation(w[i])) {
                continue;
            }
            int h = FNV_OFFSET;
            int j = i;
            for (int n = 1; j < w.length && n <= maxn; n++) {
                h = (h ^ w[j++]) * FNV_PRIME; // the byte sign-extended, as fastText's uint32_t(int8_t(c))
                while (j < w.length && isContinuation(w[j])) {
                    h = (h ^ w[j++]) * FNV_PRIME;
                }
                if (n >= minn && !(n == 1 && (i == 0 || j == w.length))) {
                    if (count == out.length) {
                        out = Arrays.copyOf(out, count * 2);
                    }
                    out[count++] = Integer.toUnsignedLong(h) % buckets;
                }
            }
        }
        return Arrays.copyOf(out, count);
    }

    /** fastText's hash of {@code bytes}: 32-bit FNV-1a with each byte sign-extended before the xor. */
    static int hash(byte[] bytes) {
        int h = FNV_OFFSET;
        for (byte b : bytes) {
            h = (h ^ b) * FNV_PRIME;
        }
        return h;
    }

    private static boolean isContinuation(byte b) {
        return (b & 0xC0) == 0x80;
    }

    /** The word that names bucket row {@code bucket} in the vocabulary: a space no fastText token has. */
    public static String bucketWord(long bucket) {
        return "<ngram bucket " + bucket + ">";
    }
}
