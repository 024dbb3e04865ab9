/**
 * The store's file-level mechanisms, shared with embstore's own modules (trainer, formats, classifier, cli) so that they
 * are written once: the NumPy {@code .npy} header ({@link io.embstore.store.io.NpyHeader}), temporary siblings made
 * exclusively with an unpredictable name ({@link io.embstore.store.io.TempSibling}), durable atomic replacement of a
 * file ({@link io.embstore.store.io.DurableFiles}), reserving disk blocks before a mapped write
 * ({@link io.embstore.store.io.FileSpace}), the mapping of files and the advice given for each mapping's access
 * ({@link io.embstore.store.io.MappingAdvice}, the one {@code madvise} call of the project).
 *
 * <p><b>Internal to embstore.</b> The classes are public only so that the project's other modules can use them; they
 * are not part of the library's API and may change in any release without notice. Applications use
 * {@link io.embstore.store.EmbeddingStore} and {@link io.embstore.store.StoreException}.
 */
package io.embstore.store.io;
