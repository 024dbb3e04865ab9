package io.embstore.formats;

import java.util.Objects;

/**
 * How a store is exported to a vector file ({@link VectorFiles#export}). {@link #defaults()} or
 * {@code ExportOptions.builder()...build()}.
 *
 * @param format   the output format
 * @param rows     the rows to write, in order, or null for every row of the store
 * @param threads  formatting threads, 1 or more
 * @param progress told of progress from any thread; never null
 */
public record ExportOptions(VectorFormat format, RowSelection rows, int threads, ProgressListener progress) {

    public ExportOptions {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(progress, "progress");
        if (format == VectorFormat.FASTTEXT_BIN) {
            throw new IllegalArgumentException("fastText .bin models are read, not written: export word2vec (a .vec"
                    + " file), word2vec-binary or glove");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be 1 or more, found " + threads);
        }
    }

    /** word2vec text, every row, every core. */
    public static ExportOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link ExportOptions}; starts from the {@link #defaults()}. */
    public static final class Builder {
        private VectorFormat format = VectorFormat.WORD2VEC;
        private RowSelection rows;
        private int threads = Runtime.getRuntime().availableProcessors();
        private ProgressListener progress = ProgressListener.NONE;

        private Builder() {
        }

        public Builder format(VectorFormat format) {
            this.format = format;
            return this;
        }

        /** The rows to write, in order; null (the default) writes every row. */
        public Builder rows(RowSelection rows) {
            this.rows = rows;
            return this;
        }

        /** Formatting threads; default: every core. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public Builder progress(ProgressListener progress) {
            this.progress = progress;
            return this;
        }

        public ExportOptions build() {
            return new ExportOptions(format, rows, threads, progress);
        }
    }
}
