/**
 * Approximate nearest neighbours over a store's rows.
 *
 * <p>{@link io.embstore.index.AnnIndex} is the one entry point (with its options,
 * {@link io.embstore.index.AnnIndexOptions}): it builds a jvector graph over the store's mapped rows, keeps it in the
 * store directory as {@code ann.index} (docs/FORMAT.md), maps it read-only in any number of processes, and answers
 * queries whose candidates are re-ranked by exact cosine like the store's own scan. The rest is package-private:
 * <ul>
 *   <li>{@code AnnFile}: the layout of {@code ann.index};</li>
 *   <li>{@code AnnIndexWriter}: the build and the atomic write of the file;</li>
 *   <li>{@code AnnIndexCheck}: the checks at open (checksums, sizes, that the index is this store's);</li>
 *   <li>{@code StoreVectors}: the rows as jvector reads them while building (from the mapping, unit length);</li>
 *   <li>{@code MappedGraph}: the adjacency lists as a jvector graph, read in place;</li>
 *   <li>{@code ChangedRows}: the rows written since the build, recomputed once per store generation.</li>
 * </ul>
 * jvector uses the Vector API when {@code jdk.incubator.vector} is present ({@code --add-modules
 * jdk.incubator.vector}, as the {@code embstore} launcher passes for {@code index} and {@code similar}); without it,
 * it falls back to scalar loops and logs a warning.
 */
package io.embstore.index;
