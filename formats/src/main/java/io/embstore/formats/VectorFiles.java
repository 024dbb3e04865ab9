package io.embstore.formats;

import io.embstore.store.EmbeddingStore;
import java.nio.file.Path;

/**
 * Converts vector files into stores and exports stores to vector files: what {@code embstore convert} and
 * {@code embstore export} do, for a Java program.
 *
 * <pre>{@code
 * ConversionSummary s = VectorFiles.convert(Path.of("glove.6B.300d.txt"), Path.of("glove"),
 *         ConvertOptions.builder().dtype(Dtype.F16).progress((bytes, rows) -> ...).build());
 * try (EmbeddingStore store = EmbeddingStore.open(Path.of("glove"))) {
 *     VectorFiles.export(store, Path.of("glove.vec.gz"), ExportOptions.defaults());
 * }
 * }</pre>
 *
 * <p>Formats: word2vec text (fastText's {@code .vec} too), GloVe text and word2vec binary, each optionally
 * gzip-compressed ({@link VectorFormat}). Neither operation leaves anything half-written behind: a conversion builds
 * the store in a temporary sibling and renames it into place; an export replaces its file atomically.
 *
 * <p>A malformed input is an {@link InputException} naming the file and the line or byte offset; an output that
 * cannot be written where it was named is an {@link OutputException}; the store's own errors are
 * {@link io.embstore.store.StoreException}s; an I/O failure while writing is an {@link java.io.UncheckedIOException}
 * naming the output.
 */
public final class VectorFiles {
    private VectorFiles() {
    }

    /**
     * Converts {@code input} into a new store at {@code store}, which must not exist yet (its parent must). Plain files
     * are parsed on {@link ConvertOptions#threads()} threads; gzip-compressed ones are streamed.
     */
    public static ConversionSummary convert(Path input, Path store, ConvertOptions options) {
        return VectorConverter.convert(input, store, options);
    }

    /** Whether {@code file} starts with the gzip magic bytes (its size then says nothing of the bytes to parse). */
    public static boolean isCompressed(Path file) {
        return VectorConverter.isGzip(file);
    }

    /**
     * Exports {@code store} to the file {@code output}: a regular file (or none yet) is replaced atomically, {@code -}
     * is standard output, a device or FIFO is written as it is ({@link OutputTarget}); a name ending in {@code .gz} is
     * gzip-compressed. The output must not lie inside a store.
     */
    public static ExportSummary export(EmbeddingStore store, Path output, ExportOptions options) {
        OutputTarget target = OutputTarget.of(output, "a file");
        if (target.replaced()) {
            OutputLocation.checkExportFile(target.file());
        }
        return export(store, target, options);
    }

    /** Exports {@code store} to an output already looked at ({@link OutputTarget#of}). */
    public static ExportSummary export(EmbeddingStore store, OutputTarget output, ExportOptions options) {
        RowSelection rows = options.rows() == null ? RowSelection.all(store) : options.rows();
        return VectorExporter.export(store, rows, output, options.format(), options.threads(), options.progress());
    }
}
