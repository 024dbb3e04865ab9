package io.embstore.store;

import java.util.List;

/**
 * What {@link EmbeddingStore#verify()} found.
 *
 * @param rows             rows checked
 * @param checksumsChecked whether recorded checksums existed and were compared (a writer's change deletes them)
 * @param nonFiniteValues  NaN and infinite values in the matrix (allowed, but worth knowing)
 * @param problems         one line per problem, naming the file; empty when the store is sound
 */
public record Verification(long rows, boolean checksumsChecked, long nonFiniteValues, List<String> problems) {
    /** Whether no problem was found. */
    public boolean ok() {
        return problems.isEmpty();
    }
}
