package io.embstore.formats;

import io.embstore.store.EmbeddingStore;

/**
 * How {@link VectorConverter} reads a vector file.
 *
 * @param format         the input format, or null to detect it
 * @param dtype          the store's element type
 * @param onDuplicate    what to do with a word seen again: {@code FIRST} (gensim's choice), {@code LAST} or {@code ERROR}
 * @param encoding       how words are decoded: strict UTF-8, UTF-8 with invalid bytes replaced, or Latin-1
 * @param limit          read only the first {@code limit} rows, or -1 for all
 * @param allowNonFinite keep NaN and infinite values instead of failing on them
 * @param threads        parser threads for uncompressed text input
 * @param progress       told of progress from any thread; never null
 */
public record ConvertOptions(VectorFormat format, EmbeddingStore.Dtype dtype, Duplicates onDuplicate, WordEncoding encoding,
                      long limit, boolean allowNonFinite, int threads, Progress progress) {

    public enum Duplicates { FIRST, LAST, ERROR }

    public enum WordEncoding { UTF8, REPLACE, LATIN1 }

    /** Receives progress; implementations must be thread-safe. */
    public interface Progress {
        Progress NONE = (bytes, rows) -> { };

        /** {@code bytes} more input bytes and {@code rows} more rows were read. */
        void advance(long bytes, long rows);
    }

    public static ConvertOptions defaults() {
        return new ConvertOptions(null, EmbeddingStore.Dtype.F32, Duplicates.FIRST, WordEncoding.UTF8, -1, false,
                Runtime.getRuntime().availableProcessors(), Progress.NONE);
    }

    public ConvertOptions withFormat(VectorFormat f) {
        return new ConvertOptions(f, dtype, onDuplicate, encoding, limit, allowNonFinite, threads, progress);
    }

    public ConvertOptions withDtype(EmbeddingStore.Dtype d) {
        return new ConvertOptions(format, d, onDuplicate, encoding, limit, allowNonFinite, threads, progress);
    }

    public ConvertOptions withDuplicates(Duplicates d) {
        return new ConvertOptions(format, dtype, d, encoding, limit, allowNonFinite, threads, progress);
    }

    public ConvertOptions withEncoding(WordEncoding e) {
        return new ConvertOptions(format, dtype, onDuplicate, e, limit, allowNonFinite, threads, progress);
    }

    public ConvertOptions withLimit(long l) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, l, allowNonFinite, threads, progress);
    }

    public ConvertOptions withAllowNonFinite(boolean a) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, a, threads, progress);
    }

    public ConvertOptions withThreads(int t) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, allowNonFinite, t, progress);
    }

    public ConvertOptions withProgress(Progress p) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, allowNonFinite, threads, p);
    }
}
