package io.embstore.trainer;

/**
 * Groups a step's ids by row: the unique rows in order of first appearance, and for each the positions (in the ids
 * array) where it occurs, in increasing order, as compressed sparse rows. Gradients are not summed here: the thread
 * that owns a row sums its positions while it updates it, so the summation runs on every core and the gradient buffer
 * is read once. Positions in increasing order make the sum's order (and so its rounding) deterministic.
 *
 * <p>This runs on the caller's thread before the step fans out, so it is on every step's critical path: a small
 * open-addressing table of its own (row and slot packed in one long, one probe sequence per id that finds or inserts,
 * and only the entries used are cleared afterwards) instead of a general map, whose get-then-put and full clear per
 * step cost about twice as much (measured: 5% of a single-threaded step, a sixth of a two-threaded one's serial part).
 *
 * <p>Reused from step to step; its arrays grow with the largest step seen, never with the table.
 */
final class StepCoalescer {
    /** Unique rows, {@code [0, unique)}. */
    int[] rows = new int[0];
    /** Positions of row {@code rows[k]}: {@code positions[starts[k]] .. positions[starts[k + 1] - 1]}. */
    int[] starts = new int[1];
    int[] positions = new int[0];
    int unique;
    private int[] slotAt = new int[0];
    /** Where unique row {@code k} sits in {@link #table}, to clear exactly the used entries. */
    private int[] tableAt = new int[0];
    /** 0 is empty; otherwise {@code (row + 1) << 32 | slot}. Kept at most half full. */
    private long[] table = new long[0];
    private int mask;
    /** {@code 32 - log2(table.length)}: the product's top bits index the table. */
    private int shift;

    /**
     * Coalesces {@code n} ids (from {@code ints} or {@code longs}), leaving out {@code skip} (the padding row, or -1).
     * The ids are already checked to be rows of the table.
     */
    void coalesce(int[] ints, long[] longs, int n, long skip) {
        if (slotAt.length < n) {
            slotAt = new int[n];
            positions = new int[n];
            rows = new int[n];
            tableAt = new int[n];
            starts = new int[n + 1];
        }
        if (table.length < 2 * n) {
            table = new long[Math.max(16, Integer.highestOneBit(Math.max(1, 2 * n - 1)) << 1)];
            mask = table.length - 1;
            shift = 32 - Integer.numberOfTrailingZeros(table.length);
        }
        long[] table = this.table;
        int mask = this.mask;
        int shift = this.shift;
        int[] rows = this.rows;
        int[] slotAt = this.slotAt;
        int[] counts = starts; // counts in starts[1..u], turned into starts below
        int u = 0;
        for (int i = 0; i < n; i++) {
            int row = ints != null ? ints[i] : (int) longs[i];
            if (row == skip) {
                slotAt[i] = -1;
                continue;
            }
            long key = (long) (row + 1) << 32;
            int h = (row * 0x9E3779B9) >>> shift; // Fibonacci hashing: the product's top bits, well mixed
            int slot;
            while (true) {
                long e = table[h];
                if (e == 0) {
                    slot = u++;
                    table[h] = key | slot;
                    tableAt[slot] = h;
                    rows[slot] = row;
                    counts[slot + 1] = 0;
                    break;
                }
                if ((e & 0xffffffff00000000L) == key) {
                    slot = (int) e;
                    break;
                }
                h = (h + 1) & mask;
            }
            counts[slot + 1]++;
            slotAt[i] = slot;
        }
        for (int k = 0; k < u; k++) {
            table[tableAt[k]] = 0;
        }
        starts[0] = 0;
        for (int k = 0; k < u; k++) {
            starts[k + 1] += starts[k];
        }
        // Fill positions by a counting sort; a cursor per slot, kept in tableAt (no longer needed).
        int[] cursor = tableAt;
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
