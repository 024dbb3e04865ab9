package io.embstore.formats;

import io.embstore.store.EmbeddingStore;

/** The rows of a store to export, in the order they are written. */
public interface RowSelection {
    /** How many rows are exported. */
    long size();

    /** The store row written {@code index}-th, for {@code 0 <= index < size()}. */
    long row(long index);

    /** Every row of {@code store}, in row order (the rows its view holds now). */
    static RowSelection all(EmbeddingStore store) {
        long rows = store.rows();
        return new RowSelection() {
            @Override
            public long size() {
                return rows;
            }

            @Override
            public long row(long index) {
                return index;
            }
        };
    }

    /** The rows of {@code rows}, in its order (not copied: the caller must not change it). */
    static RowSelection of(long[] rows) {
        return new RowSelection() {
            @Override
            public long size() {
                return rows.length;
            }

            @Override
            public long row(long index) {
                return rows[(int) index];
            }
        };
    }
}
