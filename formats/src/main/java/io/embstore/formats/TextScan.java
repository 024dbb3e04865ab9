package io.embstore.formats;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Byte search over mapped input, eight bytes at a time (the "has zero byte" bit trick). */
final class TextScan {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    private TextScan() {
    }

    private static final java.lang.invoke.VarHandle LONG_IN_BYTES =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** Offset of the first {@code b} in {@code buf[from, to)}, or -1. */
    static int indexOf(byte[] buf, int from, int to, byte b) {
        long pattern = (b & 0xffL) * ONES;
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long w = (long) LONG_IN_BYTES.get(buf, i) ^ pattern;
            long found = (w - ONES) & ~w & HIGHS;
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** Offset of the first {@code b} in {@code seg[from, to)}, or -1. */
    static long indexOf(MemorySegment seg, long from, long to, byte b) {
        long pattern = (b & 0xffL) * ONES;
        long i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long w = seg.get(LONG, i) ^ pattern;
            long found = (w - ONES) & ~w & HIGHS;
            if (found != 0) {
                // Little-endian: the lowest flagged byte is the first match; borrows only flag bytes above it.
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (seg.get(ValueLayout.JAVA_BYTE, i) == b) {
                return i;
            }
        }
        return -1;
    }
}
