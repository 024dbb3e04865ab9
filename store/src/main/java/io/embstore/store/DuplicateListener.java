package io.embstore.store;

/** Hears of each duplicate word at {@link Draft#commit}; it may throw to abort the commit (and the draft). */
@FunctionalInterface
public interface DuplicateListener {
    /**
     * @param word         the repeated word
     * @param firstRow     the row that keeps the word, numbered as in the committed store
     * @param duplicateRow the dropped row, numbered as it was put
     */
    void duplicate(String word, long firstRow, long duplicateRow);
}
