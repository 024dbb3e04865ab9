/**
 * Vector files: word2vec text and binary, GloVe and fastText {@code .vec}, plain or gzip-compressed, and fastText
 * {@code .bin} models (read only: words and character n-gram buckets, {@code FastTextBinReader}).
 *
 * <p>{@link io.embstore.formats.VectorFiles} is the entry point: it converts a file into an embedding store and exports
 * a store to a file, configured by {@link io.embstore.formats.ConvertOptions} and
 * {@link io.embstore.formats.ExportOptions} (records with builders) and reporting to a
 * {@link io.embstore.formats.ProgressListener}. Conversion parses on every core, correctly rounded
 * ({@link io.embstore.formats.FloatParser}); export writes the shortest decimal that reads back as the same float
 * ({@link io.embstore.formats.ShortestFloat}), so text to store to text is exact.
 *
 * <p>A malformed input is an {@link io.embstore.formats.InputException} naming the file and the line or byte offset; an
 * output that cannot be written where it was named is an {@link io.embstore.formats.OutputException}. Nothing
 * half-written is left behind. {@link io.embstore.formats.OutputTarget}, {@link io.embstore.formats.OutputLocation}
 * (the rules for a file a command writes) and {@link io.embstore.formats.StaleTemporaries} (what killed runs left
 * beside it) are public for the project's other modules. The readers, the converter, the
 * exporter and the direct-I/O writer are package-private.
 */
package io.embstore.formats;
