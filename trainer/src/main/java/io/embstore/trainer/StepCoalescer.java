package io.embstore.trainer;

import java.util.Arrays;
import org.agrona.collections.Int2IntHashMap;

/**
 * Groups a step's ids by row: the unique rows in order of first appearance, and for each the positions (in the ids
 * array) where it occurs, in increasing order, as compressed sparse rows. Gradients are not summed here: the thread
 * that owns a row sums its positions while it updates it, so the summation runs on every core and the gradient buffer
 * is read once. Positions in increasing order make the sum's order (and so its rounding) deterministic.
 *
 * <p>Reused from step to step; its arrays grow with the largest step seen, never with the table.
 */
final class StepCoalescer {
    private final Int2IntHashMap slotOfRow = new Int2IntHashMap(8192, 0.5f, -1);
    /** Unique rows, {@code [0, unique)}. */
    int[] rows = new int[0];
    /** Positions of row {@code rows[k]}: {@code positions[starts[k]] .. positions[starts[k + 1] - 1]}. */
    int[] starts = new int[1];
    int[] positions = new int[0];
    int unique;
    private int[] slotAt = new int[0];

    /**
     * Coalesces {@code n} ids (from {@code ints} or {@code longs}), leaving out {@code skip} (the padding row, or -1).
     * The ids are already checked to be rows of the table.
     */
    void coalesce(int[] ints, long[] longs, int n, long skip) {
        slotOfRow.clear();
        if (slotAt.length < n) {
            slotAt = new int[n];
            positions = new int[n];
            rows = new int[n];
            starts = new int[n + 1];
        }
        int u = 0;
        int[] counts = starts; // counts in starts[1..u], turned into starts below
        for (int i = 0; i < n; i++) {
            int row = ints != null ? ints[i] : (int) longs[i];
            if (row == skip) {
                slotAt[i] = -1;
                continue;
            }
            int slot = slotOfRow.get(row);
            if (slot < 0) {
                slot = u++;
                slotOfRow.put(row, slot);
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
        // Fill positions by a counting sort; a cursor per slot, kept in a scratch copy of starts.
        int[] cursor = Arrays.copyOf(starts, u);
        for (int i = 0; i < n; i++) {
            int slot = slotAt[i];
            if (slot >= 0) {
                positions[cursor[slot]++] = i;
            }
        }
        unique = u;
    }
}
