package io.embstore.trainer;

import io.embstore.store.WritableStore;
import java.lang.foreign.MemorySegment;
import org.roaringbitmap.RoaringBitmap;

/** What a checkpoint forces: the pages of the rows changed since the last one, in the matrix and the state files. */
final class DirtyPages {
    private DirtyPages() {
    }

    /**
     * Forces the pages of {@code rows}: runs of rows that share or abut pages become one msync, so the calls number
     * about the dirty pages, not the dirty rows; rows far apart never pull in the clean pages between them.
     */
    static void force(RoaringBitmap rows, WritableStore store, OptimizerState state, Durability durability) {
        if (rows.isEmpty()) {
            return;
        }
        long matrixRowBytes = store.dtype().rowBytes(store.dim());
        forEachRun(rows, matrixRowBytes, (from, to) -> durability.forceRows(store, from, to));
        for (OptimizerState.Array a : state.arrays()) {
            MemorySegment seg = a.segment();
            long rowBytes = a.rowBytes();
            forEachRun(rows, rowBytes, (from, to) ->
                    durability.force(a.file(), seg, OptimizerState.rowAt(from, rowBytes), (to - from) * rowBytes));
        }
    }

    /** A run of rows {@code [from, to)}. */
    interface RowRange {
        void accept(long from, long to);
    }

    /** Calls {@code action} with each run of {@code rows} whose gaps are under a page of {@code rowBytes} rows. */
    static void forEachRun(RoaringBitmap rows, long rowBytes, RowRange action) {
        long gapRows = Math.max(1, 4096 / rowBytes);
        long from = -1;
        long to = -1;
        for (var it = rows.getIntIterator(); it.hasNext(); ) {
            long r = it.next() & 0xffffffffL;
            if (from >= 0 && r - to <= gapRows) {
                to = r + 1;
                continue;
            }
            if (from >= 0) {
                action.accept(from, to);
            }
            from = r;
            to = r + 1;
        }
        action.accept(from, to);
    }
}
