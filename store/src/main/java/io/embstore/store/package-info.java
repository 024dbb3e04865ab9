/**
 * Memory-mapped embedding tables.
 *
 * <p>{@link io.embstore.store.EmbeddingStore} is the one entry point: it creates a store directory atomically
 * ({@link io.embstore.store.StoreBuilder}, {@link io.embstore.store.Draft} for bulk loads), opens it read-only (any
 * number of processes) and reads rows, gathers batches of ids and answers similarity queries. Opened for writing (one
 * process, enforced by an OS file lock) a store is a {@link io.embstore.store.WritableStore}, which adds writes and
 * appends and owns the publish protocol. Value types ({@code Dtype}, {@code Init}, {@code ReadMode},
 * {@code Neighbor}, {@code Verification}) and {@link io.embstore.store.StoreException} with its kinds are public too,
 * as are {@link io.embstore.store.Subwords} and {@link io.embstore.store.SubwordLayout}: the character n-gram buckets
 * of a store converted from a fastText {@code .bin} model, which answer the words it does not have.
 * Everything else in this package is a package-private layout descriptor or mechanism:
 * <ul>
 *   <li>{@code StoreMapping}: the files as mapped at one capacity, and what a store object shows of them;</li>
 *   <li>{@code RowReader}: the seqlock read path (read, gather), which refuses damaged rows;</li>
 *   <li>{@code SimilaritySearch}: the queries behind {@code mostSimilar}, {@code analogy} and {@code similarity};</li>
 *   <li>{@code StoreVerifier}: the whole-store check behind {@code verify()};</li>
 *   <li>{@code StoreDraft} (with {@code CommitTasks}, {@code DraftFlusher}, {@code VocabularyOrder}): a store being
 *       built, and its commit;</li>
 *   <li>{@code MatrixHeader}: the {@code .npy} header of {@code matrix.npy};</li>
 *   <li>{@code ControlBlock}: the mapped block carrying live row count, capacity, generation and writer identity;</li>
 *   <li>{@code Manifest}: the text manifest that says what the directory holds;</li>
 *   <li>{@code VocabularyIndex}: the mapped word records and the open-addressing hash index word to row;</li>
 *   <li>{@code RowSeqlock}: the per-row sequence counters that keep readers from seeing half-written rows;</li>
 *   <li>{@code RowNorms}: the optional {@code norms.f32}, one norm per row for cosine queries;</li>
 *   <li>{@code DamagedRows}: {@code damaged.rows}, the rows whose write did not complete, which reads refuse;</li>
 *   <li>{@code WriterLock}: the one-writer lock on {@code writer.lock} (an open file description lock on Linux);</li>
 *   <li>{@code SimilarityScan}: the multi-threaded brute-force top-k scan behind {@code mostSimilar} and
 *       {@code analogy};</li>
 *   <li>{@code SimilarityKernel}: its inner loops, the Vector API one ({@code PanamaSimilarityKernel}, when
 *       {@code jdk.incubator.vector} is present) or the scalar one, picked once per JVM and logged.</li>
 * </ul>
 * The file-level mechanisms (the {@code .npy} header, durable atomic writes, temporary siblings, disk space) are in
 * {@link io.embstore.store.io}, internal to embstore. The store depends on the JDK alone and uses the Foreign Function and Memory API, nothing unsafe or internal. The
 * incubating Vector API is optional at run time: run with {@code --add-modules jdk.incubator.vector} for the SIMD
 * kernel ({@code -Dembstore.vector=scalar|simd} forces one).
 */
package io.embstore.store;
