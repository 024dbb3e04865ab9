package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Per-row sequence counters ({@code rows.seq}: one little-endian int32 per row of capacity) that let readers in any
 * process copy a row without ever returning one that is half old and half new.
 *
 * <p>Writer, for one row (each row is written by one thread at a time):
 * {@code seq = s + 1} (odd: writing) ; store-store fence ; write the row ; release-write {@code seq = s + 2}.
 * <br>Reader: acquire-read {@code s1}; if odd, wait; copy the row; acquire fence; read {@code s2}; retry unless
 * {@code s1 == s2}. The counter wraps around harmlessly: only equality is tested.
 *
 * <p>A writer that dies between the two writes leaves a row odd, and its content unknown (half old, half new). Readers
 * then wait a while, check whether the writer process named in the control block still lives, and fail with a
 * {@link StoreException} if it does not. The next writer to open the store records the odd rows among the live ones
 * as damaged ({@link DamagedRows}): they stay odd, so that no read ever returns them, until they are rewritten. Odd
 * counters past the live rows (an append that never published its row) are reset ({@link #resetOdd}).
 */
final class RowSeqlock {
    static final String FILE = "rows.seq";
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SEQ = INT.varHandle();

    private RowSeqlock() {
    }

    static long fileBytes(long capacity) {
        return capacity * Integer.BYTES;
    }

    /** Marks {@code row} as being written; returns the value to pass to {@link #endWrite}. */
    static int beginWrite(MemorySegment seq, long row) {
        long at = row * Integer.BYTES;
        int s = (int) SEQ.get(seq, at);
        SEQ.setOpaque(seq, at, s | 1);
        VarHandle.storeStoreFence();
        return (s | 1) + 1;
    }

    static void endWrite(MemorySegment seq, long row, int next) {
        SEQ.setRelease(seq, row * Integer.BYTES, next);
    }

    /** The counter before a read: odd means a write is under way. */
    static int readBegin(MemorySegment seq, long row) {
        return (int) SEQ.getAcquire(seq, row * Integer.BYTES);
    }

    /** True when nothing was written to the row since {@code begin}, which must have been even. */
    static boolean readValidate(MemorySegment seq, long row, int begin) {
        VarHandle.acquireFence();
        return (int) SEQ.getOpaque(seq, row * Integer.BYTES) == begin;
    }

    /** The fence that orders a block of row copies before their validating {@link #readAgain}s. */
    static void validateFence() {
        VarHandle.acquireFence();
    }

    /** The counter again, after {@link #validateFence()}: equal to the first read (and even) means the copy was whole. */
    static int readAgain(MemorySegment seq, long row) {
        return (int) SEQ.getOpaque(seq, row * Integer.BYTES);
    }

    /** The rows in {@code [from, to)} whose counter is odd, ascending. */
    static long[] oddRows(MemorySegment seq, long from, long to) {
        long[] odd = new long[0];
        int n = 0;
        for (long row = from; row < to; row++) {
            if ((seq.get(INT, row * Integer.BYTES) & 1) != 0) {
                if (n == odd.length) {
                    odd = java.util.Arrays.copyOf(odd, Math.max(8, 2 * n));
                }
                odd[n++] = row;
            }
        }
        return java.util.Arrays.copyOf(odd, n);
    }

    /** Makes the odd counters of rows {@code [from, to)} even: for rows no reader can see. */
    static void resetOdd(MemorySegment seq, long from, long to) {
        for (long row = from; row < to; row++) {
            long at = row * Integer.BYTES;
            int s = seq.get(INT, at);
            if ((s & 1) != 0) {
                SEQ.setRelease(seq, at, s + 1);
            }
        }
    }
}
