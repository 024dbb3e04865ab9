package io.embstore.tools;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Dtype;

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
record ConvertOptions(VectorFormat format, Dtype dtype, Duplicates onDuplicate, WordEncoding encoding,
                      long limit, boolean allowNonFinite, int threads, Progress progress) {

    enum Duplicates { FIRST, LAST, ERROR }

    enum WordEncoding { UTF8, REPLACE, LATIN1 }

    /** Receives progress; implementations must be thread-safe. */
    interface Progress {
        Progress NONE = (bytes, rows) -> { };

        /** {@code bytes} more input bytes and {@code rows} more rows were read. */
        void advance(long bytes, long rows);
    }

    static ConvertOptions defaults() {
        return new ConvertOptions(null, Dtype.F32, Duplicates.FIRST, WordEncoding.UTF8, -1, false,
                Runtime.getRuntime().availableProcessors(), Progress.NONE);
    }

    ConvertOptions withFormat(VectorFormat f) {
        return new ConvertOptions(f, dtype, onDuplicate, encoding, limit, allowNonFinite, threads, progress);
    }

    ConvertOptions withDtype(Dtype d) {
        return new ConvertOptions(format, d, onDuplicate, encoding, limit, allowNonFinite, threads, progress);
    }

    ConvertOptions withDuplicates(Duplicates d) {
        return new ConvertOptions(format, dtype, d, encoding, limit, allowNonFinite, threads, progress);
    }

    ConvertOptions withEncoding(WordEncoding e) {
        return new ConvertOptions(format, dtype, onDuplicate, e, limit, allowNonFinite, threads, progress);
    }

    ConvertOptions withLimit(long l) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, l, allowNonFinite, threads, progress);
    }

    ConvertOptions withAllowNonFinite(boolean a) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, a, threads, progress);
    }

    ConvertOptions withThreads(int t) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, allowNonFinite, t, progress);
    }

    ConvertOptions withProgress(Progress p) {
        return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, allowNonFinite, threads, p);
    }
}
