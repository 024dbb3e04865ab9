package io.embstore.store;

/**
 * How a store converted from a fastText {@code .bin} model answers words it does not have (docs/FORMAT.md,
 * "Subwords"): rows {@code [0, wordRows)} are the model's words, rows {@code [wordRows, wordRows + buckets)} its
 * character n-gram buckets, and the n-grams of {@code <word>} of {@code minn} to {@code maxn} characters are hashed
 * into them with fastText's 32-bit FNV-1a ({@value #HASH}).
 *
 * @param minn     shortest n-gram, in characters
 * @param maxn     longest n-gram, in characters
 * @param buckets  n-gram bucket rows
 * @param wordRows rows of words, before the buckets
 */
public record SubwordLayout(int minn, int maxn, long buckets, long wordRows) {
    /** The name of the n-gram hash in the manifest: FNV-1a over UTF-8 bytes, each sign-extended (fastText's). */
    public static final String HASH = "fasttext-fnv1a32";

    /**
     * @throws IllegalArgumentException naming the bad value
     */
    public SubwordLayout {
        if (minn < 1 || maxn < minn) {
            throw new IllegalArgumentException("n-gram lengths must satisfy 1 <= minn <= maxn: minn=" + minn + ", maxn=" + maxn);
        }
        if (buckets < 1 || wordRows < 0 || buckets + wordRows > EmbeddingStore.MAX_ROWS) {
            throw new IllegalArgumentException("buckets must be at least 1 and word rows plus buckets at most "
                    + EmbeddingStore.MAX_ROWS + ": buckets=" + buckets + ", wordRows=" + wordRows);
        }
    }

    /** The first bucket row. */
    public long firstBucketRow() {
        return wordRows;
    }

    /** Whether {@code row} is an n-gram bucket (not a word). */
    public boolean isBucketRow(long row) {
        return row >= wordRows && row < wordRows + buckets;
    }
}
