package io.embstore.formats;

import io.embstore.store.Dtype;
import java.util.Objects;

/**
 * How a vector file is converted into a store ({@link VectorFiles#convert}). {@link #defaults()} or
 * {@code ConvertOptions.builder()...build()}; {@link #toBuilder()} changes a few of them.
 *
 * @param format         the input format, or null to detect it
 * @param dtype          the store's element type
 * @param onDuplicate    what to do with a word seen again: {@code FIRST} (gensim's choice), {@code LAST} or {@code ERROR}
 * @param encoding       how words are decoded: strict UTF-8, UTF-8 with invalid bytes replaced, or Latin-1
 * @param limit          read only the first {@code limit} rows, or -1 for all
 * @param allowNonFinite keep NaN and infinite values instead of failing on them
 * @param threads        parser threads for uncompressed text input, 1 or more
 * @param progress       told of progress from any thread; never null
 */
public record ConvertOptions(VectorFormat format, Dtype dtype, Duplicates onDuplicate,
                             WordEncoding encoding, long limit, boolean allowNonFinite, int threads,
                             ProgressListener progress) {

    /** What happens to a word seen again. */
    public enum Duplicates { FIRST, LAST, ERROR }

    /** How the bytes of a word are decoded. */
    public enum WordEncoding { UTF8, REPLACE, LATIN1 }

    public ConvertOptions {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(onDuplicate, "onDuplicate");
        Objects.requireNonNull(encoding, "encoding");
        Objects.requireNonNull(progress, "progress");
        if (limit < -1) {
            throw new IllegalArgumentException("limit must be -1 (all rows) or more, found " + limit);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be 1 or more, found " + threads);
        }
    }

    /** Detected format, f32, first of duplicates kept, strict UTF-8, every row, finite values only, every core. */
    public static ConvertOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        return new Builder().format(format).dtype(dtype).onDuplicate(onDuplicate).encoding(encoding).limit(limit)
                .allowNonFinite(allowNonFinite).threads(threads).progress(progress);
    }

    /** Builds {@link ConvertOptions}; starts from the {@link #defaults()}. */
    public static final class Builder {
        private VectorFormat format;
        private Dtype dtype = Dtype.F32;
        private Duplicates onDuplicate = Duplicates.FIRST;
        private WordEncoding encoding = WordEncoding.UTF8;
        private long limit = -1;
        private boolean allowNonFinite;
        private int threads = Runtime.getRuntime().availableProcessors();
        private ProgressListener progress = ProgressListener.NONE;

        private Builder() {
        }

        /** The input format; null (the default) detects it from the first lines. */
        public Builder format(VectorFormat format) {
            this.format = format;
            return this;
        }

        public Builder dtype(Dtype dtype) {
            this.dtype = dtype;
            return this;
        }

        public Builder onDuplicate(Duplicates onDuplicate) {
            this.onDuplicate = onDuplicate;
            return this;
        }

        public Builder encoding(WordEncoding encoding) {
            this.encoding = encoding;
            return this;
        }

        /** Read only the first {@code limit} rows; -1 (the default) reads them all. */
        public Builder limit(long limit) {
            this.limit = limit;
            return this;
        }

        public Builder allowNonFinite(boolean allowNonFinite) {
            this.allowNonFinite = allowNonFinite;
            return this;
        }

        /** Parser threads for uncompressed text input; default: every core. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public Builder progress(ProgressListener progress) {
            this.progress = progress;
            return this;
        }

        public ConvertOptions build() {
            return new ConvertOptions(format, dtype, onDuplicate, encoding, limit, allowNonFinite, threads, progress);
        }
    }
}
