package io.embstore.store;

/** What a {@link Draft} does with a word that appears again. */
public enum OnDuplicate {
    /** The first row keeps the word and its vector; the later row is dropped (gensim's behaviour). */
    KEEP_FIRST,
    /** The word keeps its first row, but with the later row's vector; the later row is dropped. */
    KEEP_LAST
}
