/**
 * Sparse optimizers on mapped tables: lazy Adam (torch.optim.SparseAdam's semantics), FBGEMM's row-wise Adagrad and
 * SGD, applied in place to an {@link io.embstore.store.EmbeddingStore} with the optimizer state in mapped files beside
 * the matrix, dirty rows tracked in RoaringBitmaps, an undo log and atomic checkpoint records for crash safety.
 *
 * <p>{@link io.embstore.trainer.SparseTrainer} is the one public type; the layouts of its files are described by the
 * package-private descriptor classes {@code OptimizerState} (its arrays have the store's
 * {@link io.embstore.store.io.NpyHeader}), {@code UndoLog} and {@code CheckpointRecord}, and in docs/FORMAT.md. Every
 * force the trainer makes goes through {@code Durability}, the seam through which tests record them and simulate a
 * power cut.
 */
package io.embstore.trainer;
