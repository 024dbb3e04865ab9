/**
 * Vector files: word2vec text and binary, GloVe and fastText {@code .vec}, plain or gzip-compressed, converted into an
 * embedding store ({@link io.embstore.formats.VectorConverter}) and exported from one
 * ({@link io.embstore.formats.VectorExporter}), on every core, with correctly rounded parsing
 * ({@link io.embstore.formats.FloatParser}) and shortest round-trip formatting ({@link io.embstore.formats.ShortestFloat}).
 *
 * <p>A malformed input is an {@link io.embstore.formats.InputException} naming the file and the line or byte offset; an
 * output that cannot be written where it was named is an {@link io.embstore.formats.OutputException}. Nothing
 * half-written is left behind. The rest of the package (the readers, the parser's line splitting, the direct-I/O
 * writer) is package-private.
 */
package io.embstore.formats;
