package io.embstore.index;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The rows written or appended since an index was built, as of one store generation: the rows whose write counter
 * differs from the one recorded at build time, then the rows past those the graph covers. Computed by comparing the
 * two counter arrays with {@link MemorySegment#mismatch} (vectorised; equal stretches cost memory bandwidth only), once
 * per generation rather than per query.
 *
 * @param generation the store generation read before the counters
 * @param storeRows  the store's rows then
 * @param rows       the changed rows, ascending
 */
record ChangedRows(long generation, long storeRows, long[] rows) {
    static ChangedRows compute(long generation, long storeRows, MemorySegment recorded, MemorySegment current) {
        long covered = recorded.byteSize() / Integer.BYTES;
        long end = Math.min(recorded.byteSize(), current.byteSize());
        long[] out = new long[16];
        int n = 0;
        long at = 0;
        while (at < end) {
            long mismatch = MemorySegment.mismatch(recorded, at, end, current, at, end);
            if (mismatch < 0) {
                break;
            }
            long row = (at + mismatch) / Integer.BYTES;
            if (n == out.length) {
                out = Arrays.copyOf(out, 2 * n);
            }
            out[n++] = row;
            at = (row + 1) * Integer.BYTES;
        }
        long appended = Math.max(0, storeRows - covered);
        if (n + appended > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(appended + " rows appended since the index was built: rebuild it");
        }
        out = Arrays.copyOf(out, (int) (n + appended));
        for (long r = covered; r < storeRows; r++) {
            out[n++] = r;
        }
        return new ChangedRows(generation, storeRows, out);
    }
}
