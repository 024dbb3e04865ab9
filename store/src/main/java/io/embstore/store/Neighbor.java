package io.embstore.store;

/**
 * A row found by a similarity query.
 *
 * @param row        the row
 * @param word       its word, or null in a store without a vocabulary
 * @param similarity cosine similarity to the query, in [-1, 1]
 */
public record Neighbor(long row, String word, float similarity) {
}
