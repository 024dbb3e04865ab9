package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A {@link StoreDraft}'s commit walking its rows in order: each row's word record is copied to the ordered records and
 * indexed, a duplicate word's row is dropped (or, for {@link OnDuplicate#KEEP_LAST}, moved over the first), and the rows
 * kept are compacted.
 */
final class VocabularyOrder {
    /** Moves row {@code from}'s vector (and norm) over row {@code to}. */
    interface RowMove {
        void move(long from, long to);
    }

    /**
     * Rows hashed, and their home slots loaded, before any of them is inserted: their cache misses in the index
     * (random by design) overlap instead of each insert waiting for its own. They are still inserted in row order.
     */
    static final int BATCH = 16;
    private final long[] hashes = new long[BATCH];
    /** The slots loaded ahead, folded together so that the loads are not dead code. */
    long touched;
    private final VocabularyIndex index;
    private final MemorySegment ordered;
    private final MemorySegment put;
    private final MemorySegment offsets;
    private final RowMove moveRow;
    private final long putBytes;
    private final OnDuplicate onDuplicate;
    private final DuplicateListener listener;
    private final Path indexFile;
    private long cursor;
    private long kept;
    private boolean moved;

    VocabularyOrder(VocabularyIndex index, MemorySegment put, MemorySegment offsets, MemorySegment ordered, long putBytes,
                    OnDuplicate onDuplicate, DuplicateListener listener, Path indexFile, RowMove moveRow) {
        this.index = index;
        this.put = put;
        this.offsets = offsets;
        this.moveRow = moveRow;
        this.ordered = ordered;
        this.putBytes = putBytes;
        this.onDuplicate = onDuplicate;
        this.listener = listener;
        this.indexFile = indexFile;
    }

    /** {@link #addRow} for rows [from, to), at most {@link #BATCH} of them; returns the next row to add. */
    long addBatch(long from, long to) {
        for (long row = from; row < to; row++) {
            long record = offsets.get(VocabularyIndex.LONG, row * Long.BYTES);
            if (record < 0 || record + VocabularyIndex.RECORD_HEADER_BYTES > putBytes
                    || (put.get(VocabularyIndex.INT_U, record) & 0xffffffffL) != row) {
                if (row == from) {
                    throw new IllegalStateException("row " + row + " has no word: putWord was not called for it");
                }
                // The rows before it first, as one at a time would: one of them may be a duplicate to report.
                to = row;
                break;
            }
            long h = VocabularyIndex.hash(put, record + VocabularyIndex.RECORD_HEADER_BYTES,
                    put.get(VocabularyIndex.INT_U, record + 4));
            hashes[(int) (row - from)] = h;
            touched += index.touchSlot(h);
        }
        for (long row = from; row < to; row++) {
            addRow(row, hashes[(int) (row - from)]);
        }
        return to;
    }

    /** Copies row {@code row}'s record to the end of the ordered records and indexes it, or drops the row. */
    void addRow(long row, long hash) {
        long record = offsets.get(VocabularyIndex.LONG, row * Long.BYTES);
        long bytes = VocabularyIndex.RECORD_HEADER_BYTES + (put.get(VocabularyIndex.INT_U, record + 4) & 0xffffffffL);
        MemorySegment.copy(put, record, ordered, cursor, bytes);
        ordered.set(VocabularyIndex.INT_U, cursor, (int) kept);
        long first = index.insertIfAbsent(ordered, cursor, hash);
        if (first >= 0) {
            if (listener != null) {
                listener.duplicate(VocabularyIndex.word(put, record, putBytes, row, indexFile), first, row);
            }
            if (onDuplicate == OnDuplicate.KEEP_LAST) {
                moveRow.move(row, first);
                moved = true;
            }
            // The copied record is not kept: the next one overwrites it.
            return;
        }
        if (kept != row) {
            moveRow.move(row, kept);
            moved = true;
        }
        offsets.set(VocabularyIndex.LONG, kept * Long.BYTES, cursor);
        cursor += bytes;
        kept++;
    }

    /** Bytes of ordered records written. */
    long cursor() {
        return cursor;
    }

    /** Rows kept. */
    long kept() {
        return kept;
    }

    /** Whether any row moved. */
    boolean moved() {
        return moved;
    }
}
