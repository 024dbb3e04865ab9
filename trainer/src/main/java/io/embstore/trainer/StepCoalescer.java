package io.embstore.trainer;

import org.agrona.collections.Int2IntHashMap;
import org.roaringbitmap.RoaringBitmap;

/**
 * Groups a step's ids by row: the unique rows in order of first appearance, and for each the positions (in the ids
 * array) where it occurs, in increasing order, as compressed sparse rows. Gradients are not summed here: the thread
 * that owns a row sums its positions while it updates it, so the summation runs on every core and the gradient buffer
 * is read once. Positions in increasing order make the sum's order (and so its rounding) deterministic.
 *
 * <p>This runs on the caller's thread before the step fans out, so it is on every step's critical path. Agrona's
 * primitive map does it without boxing, and {@code putIfAbsent} finds or inserts an id in one probe sequence (a get
 * followed by a put took two). A hand-written table that also clears only its used entries measured about 3% of a
 * single-threaded step faster; not worth owning a hash table for.
 *
 * <p>Reused from step to step; its arrays grow with the largest step seen, never with the table.
 */
final class StepCoalescer {
    private static final int ABSENT = -1;
    private final Int2IntHashMap slotOfRow = new Int2IntHashMap(8192, 0.5f, ABSENT);
    /** Unique rows, {@code [0, unique)}. */
    int[] rows = new int[0];
    /** Positions of row {@code rows[k]}: {@code positions[starts[k]] .. positions[starts[k + 1] - 1]}. */
    int[] starts = new int[1];
    int[] positions = new int[0];
    int unique;
    private int[] slotAt = new int[0];
    private int[] cursor = new int[0];

    /**
     * Coalesces {@code n} ids (from {@code ints} or {@code longs}), leaving out {@code skip} (the padding row, or -1)
     * and the rows of {@code frozen} (or none when null). The ids are already checked to be rows of the table.
     */
    void coalesce(int[] ints, long[] longs, int n, long skip, RoaringBitmap frozen) {
        slotOfRow.clear();
        if (slotAt.length < n) {
            slotAt = new int[n];
            positions = new int[n];
            rows = new int[n];
            cursor = new int[n];
            starts = new int[n + 1];
        }
        Int2IntHashMap slotOfRow = this.slotOfRow;
        int[] rows = this.rows;
        int[] slotAt = this.slotAt;
        int[] counts = starts; // counts in starts[1..u], turned into starts below
        int u = 0;
        for (int i = 0; i < n; i++) {
            int row = ints != null ? ints[i] : (int) longs[i];
            if (row == skip || frozen != null && frozen.contains(row)) {
                slotAt[i] = -1;
                continue;
            }
            int slot = slotOfRow.putIfAbsent(row, u);
            if (slot == ABSENT) {
                slot = u++;
                rows[slot] = row;
                counts[slot + 1] = 0;
            }
            counts[slot + 1]++;
            slotAt[i] = slot;
        }
        starts[0] = 0;
        for (int k = 0; k < u; k++) {
            starts[k + 1] += starts[k];
        }
        // Fill positions by a counting sort, with a cursor per slot.
        int[] cursor = this.cursor;
        System.arraycopy(starts, 0, cursor, 0, u);
        for (int i = 0; i < n; i++) {
            int slot = slotAt[i];
            if (slot >= 0) {
                positions[cursor[slot]++] = i;
            }
        }
        unique = u;
    }
}
