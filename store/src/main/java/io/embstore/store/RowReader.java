package io.embstore.store;

import io.embstore.store.StoreMapping.Mapping;
import io.embstore.store.io.MajorFaults;
import io.embstore.store.io.MappingAdvice;
import io.embstore.store.io.NpyHeader;
import io.embstore.store.io.PhysicalMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The seqlock read path of one store: copies rows out of the mapped matrix (f32, f16, or dequantized from q8/q4) into
 * arrays or segments, never
 * half old and half new in {@link ReadMode#CONSISTENT} mode (see {@link RowSeqlock} for the protocol). Refuses damaged
 * rows, and gives up on a row whose writer died mid-write or holds it too long.
 */
final class RowReader {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_NATIVE_U = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Spins before a reader starts checking whether the writer of a row still lives. */
    private static final int SPINS_BEFORE_CHECK = 1 << 12;
    /** Longest a reader waits for one row to be written before it gives up. */
    private static final long ROW_WAIT_NANOS = 10_000_000_000L;

    private final Path dir;
    private final int dim;
    private final Dtype dtype;
    private final long rowBytes;
    private final ControlBlock control;
    private final DamagedRows damaged;
    private final MappingAdvice advice;
    private final Path matrixFile;
    /**
     * Longer than this, a block of a gather waited on the disk: the block's rows plus 200 µs (a block of 16 resident
     * rows takes a few µs, with minor faults some tens; one that faults its rows in from the disk, 1-2 ms).
     */
    private final long slowBlockNanos;
    /** Tests set it: every gather asks ahead from its second block, whether its rows are resident or not. */
    private boolean alwaysAhead;
    private static final long NOT_SLOW = Long.MIN_VALUE;
    /** Bytes of a cold table asked for at each step of its warm-up ({@link #warmUp}). */
    static final long WARM_CHUNK = 32L << 20;
    /** Largest matrix warmed up whole: half the machine's memory (none where it is unknown). */
    private final long warmLimit = PhysicalMemory.total().orElse(0) / 2;
    /** Where the warm-up has reached in the matrix (bytes): shared by the store's gathering threads. */
    private final AtomicLong warmedTo = new AtomicLong();
    /** Whether rows.seq was asked for (racy: a second call costs one more system call, nothing else). */
    private boolean seqAdvised;

    RowReader(Path dir, Dtype dtype, int dim, ControlBlock control, DamagedRows damaged, MappingAdvice advice) {
        this.dir = dir;
        this.advice = advice;
        this.matrixFile = dir.resolve(EmbeddingStore.MATRIX_FILE);
        this.dim = dim;
        this.dtype = dtype;
        this.rowBytes = dtype.rowBytes(dim);
        this.control = control;
        this.damaged = damaged;
        this.slowBlockNanos = 200_000 + Scratch.BLOCK * rowBytes;
    }

    /**
     * The one gather loop, over the rows [0, rows) of {@code m}: ids come from {@code ints} or {@code longs}, rows go
     * to {@code dstArray} or {@code dstSegment}.
     */
    void gather(Mapping m, long rows, int[] ints, long[] longs, int n, float[] dstArray, MemorySegment dstSegment,
                long dstBytes, ReadMode mode) {
        checkGatherTarget(n, dstBytes);
        // Every id is checked before the first row is copied, so a bad batch leaves the caller's buffer untouched.
        for (int i = 0; i < n; i++) {
            checkId(id(ints, longs, i), i, rows);
        }
        Scratch scratch = scratch();
        // Rows in blocks: the block's rows are touched first (a load of each row's first byte, and for consistent
        // reads its sequence counter), so their TLB walks and first cache misses overlap instead of each row's copy
        // waiting for its own (1.15x the rows per CPU second consistent, 1.52x relaxed: benchmarks/results/gather.txt);
        // then the rows are copied, then validated. A row whose counter was odd or moved is read again on its own,
        // retrying as long as it takes.
        int[] seqs = scratch.sequences;
        MemorySegment seq = m.seq();
        boolean consistent = mode == ReadMode.CONSISTENT;
        GatherAhead ahead = null;
        // The major faults read at the last block, when it was slow (-1: unknown); NOT_SLOW when it was not.
        long slowFaults = NOT_SLOW;
        long blockStart = System.nanoTime();
        for (int base = 0; base < n; base += Scratch.BLOCK) {
            int count = Math.min(Scratch.BLOCK, n - base);
            if (ahead != null) {
                ahead.before(m, ints, longs, base, n);
            }
            long touched = 0;
            for (int j = 0; j < count; j++) {
                long id = id(ints, longs, base + j);
                if (consistent) {
                    seqs[j] = RowSeqlock.readBegin(seq, id);
                }
                touched += m.matrix().get(ValueLayout.JAVA_BYTE, NpyHeader.BYTES + id * rowBytes);
            }
            scratch.touched = touched; // stored, so that the compiler keeps the loads
            for (int j = 0; j < count; j++) {
                if (!consistent || (seqs[j] & 1) == 0) {
                    long id = id(ints, longs, base + j);
                    copyRaw(m.matrix(), NpyHeader.BYTES + id * rowBytes, dstArray, dstSegment, target(dstArray, base + j), scratch);
                }
            }
            if (consistent) {
                RowSeqlock.validateFence();
                for (int j = 0; j < count; j++) {
                    long id = id(ints, longs, base + j);
                    if ((seqs[j] & 1) != 0 || RowSeqlock.readAgain(seq, id) != seqs[j]) {
                        copyRow(m, id, dstArray, dstSegment, target(dstArray, base + j), ReadMode.CONSISTENT);
                    }
                }
            }
            if (ahead == null) {
                // One clock read per block: a block of resident rows takes a few microseconds (tens with minor faults
                // or another process on the core), one that faulted its rows in from the disk a millisecond or more.
                // A slow block reads the thread's major faults: two slow blocks in a row with major faults in the
                // second, and the rest of the batch is asked for ahead (GatherAhead). A slow block without them was
                // the CPU's doing, which asking ahead would only make slower, and resident rows never pay its calls.
                long now = System.nanoTime();
                if (now - blockStart > slowBlockNanos || alwaysAhead) {
                    long faults = MajorFaults.ofThisThread();
                    boolean disk = faults < 0 ? slowFaults != NOT_SLOW : slowFaults >= 0 && faults > slowFaults;
                    slowFaults = faults;
                    if ((disk || alwaysAhead) && base + Scratch.BLOCK < n && MappingAdvice.available()) {
                        ahead = new GatherAhead(base + Scratch.BLOCK);
                        adviseSeqOnce(m);
                    }
                    blockStart = System.nanoTime(); // the system call is not the next block's time
                } else {
                    slowFaults = NOT_SLOW;
                    blockStart = now;
                }
            }
        }
    }

    /**
     * The rows of a gather found waiting on the disk, asked for ahead of their copies: {@code MADV_WILLNEED} on each
     * row's pages starts its read at once, so a batch keeps {@link #WINDOW} reads in flight where copying alone has
     * one page fault at a time per thread (the disk's queue-depth-1 rate instead of its queue-depth-32 one, issue 16;
     * benchmarks/results/larger-than-memory.md).
     */
    private final class GatherAhead {
        /** Rows asked for ahead of the copy: far more than a device queue holds, far less than memory. */
        static final int WINDOW = 512;
        private int advisedTo;

        GatherAhead(int from) {
            advisedTo = from;
        }

        /** The copy is at row {@code base} of the batch: keeps the window ahead of it full, refilled by halves. */
        void before(Mapping m, int[] ints, long[] longs, int base, int n) {
            if (advisedTo - base > WINDOW / 2 || advisedTo >= n) {
                return;
            }
            warmUp(m);
            int to = Math.min(n, base + WINDOW);
            for (int i = Math.max(advisedTo, base); i < to; i++) {
                advice.willNeed(m.matrix(), NpyHeader.BYTES + id(ints, longs, i) * rowBytes, rowBytes, matrixFile);
            }
            advisedTo = to;
        }
    }

    /** See {@link #alwaysAhead}. */
    void alwaysAhead(boolean always) {
        alwaysAhead = always;
    }

    /**
     * A cold table that fits in memory is read whole, a {@link #WARM_CHUNK} at a time, front to back, while gathers
     * find it cold: {@code MADV_RANDOM} reads each fault's own page, which keeps a table larger than memory from
     * thrashing but would leave a table that fits warming up a page per row, minutes for a few GB (the kernel's
     * default read-ahead warmed a 4 GiB table in seconds, benchmarks/results/larger-than-memory.md). "Fits" is at most
     * half of the machine's memory, so the page cache keeps room for everything else.
     */
    private void warmUp(Mapping m) {
        MemorySegment matrix = m.matrix();
        long size = matrix.byteSize();
        if (size > warmLimit || warmedTo.get() >= size) {
            return;
        }
        long from = warmedTo.getAndAdd(WARM_CHUNK);
        if (from < size) {
            advice.willNeed(matrix, from, Math.min(WARM_CHUNK, size - from), matrixFile);
        }
    }

    /**
     * rows.seq is read by every consistent row read and is small (4 bytes a row, 1/128 of a 128 x f32 matrix): once a
     * gather finds the table cold, all of it is asked for at once, once per store, rather than a page per row.
     */
    private void adviseSeqOnce(Mapping m) {
        if (!seqAdvised) {
            seqAdvised = true;
            advice.willNeed(m.seq(), 0, m.seq().byteSize(), dir.resolve(RowSeqlock.FILE));
        }
    }

    /** Id {@code i} of a gather, from whichever of the two id arrays was given. */
    static long id(int[] ints, long[] longs, int i) {
        return ints != null ? ints[i] : longs[i];
    }

    /** Where gathered row {@code i} goes: an element index in an array, a byte offset in a segment. */
    long target(float[] dstArray, int i) {
        return dstArray != null ? (long) i * dim : (long) i * dim * Float.BYTES;
    }

    /**
     * Per-thread scratch of the read paths: reused, so reads and gathers allocate nothing after a thread's first.
     * f16 rows are copied out as one block of halves and converted in a plain array loop, which C2 vectorises
     * (element by element through the segment it did not, and f16 reads ran slower than f32 ones).
     */
    private static final class Scratch {
        static final int BLOCK = 16;
        final int[] sequences = new int[BLOCK];
        /** The sum of a block's touched bytes: written and never read. */
        long touched;
        short[] halves = new short[0];
        float[] floats = new float[0];
        /** The codes of a quantized row, copied out like the halves. */
        byte[] codes = new byte[0];

        void ensure(int dim) {
            if (halves.length < dim) {
                halves = new short[dim];
                floats = new float[dim];
                codes = new byte[dim];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    Scratch scratch() {
        Scratch s = SCRATCH.get();
        s.ensure(dim);
        return s;
    }

    void checkGatherTarget(int ids, long dstBytes) {
        long needed = (long) ids * dim * Float.BYTES;
        if (dstBytes < needed) {
            throw new IllegalArgumentException("destination holds " + dstBytes / Float.BYTES + " floats, "
                    + ids + " ids x dim " + dim + " need " + needed / Float.BYTES);
        }
    }

    static void checkId(long id, int position, long rows) {
        if (id < 0 || id >= rows) {
            throw new IndexOutOfBoundsException("id " + id + " at position " + position + " is outside [0, " + rows + ")");
        }
    }

    /**
     * Copies one row to {@code dstArray} at element {@code dstOffset}, or to {@code dstSegment} at byte
     * {@code dstOffset}; consistent reads retry under the row's seqlock.
     */
    void copyRow(Mapping m, long row, float[] dstArray, MemorySegment dstSegment, long dstOffset, ReadMode mode) {
        long at = NpyHeader.BYTES + row * rowBytes;
        Scratch scratch = dtype != Dtype.F32 ? scratch() : null;
        if (mode == ReadMode.RELAXED) {
            copyRaw(m.matrix(), at, dstArray, dstSegment, dstOffset, scratch);
            return;
        }
        MemorySegment seq = m.seq();
        long waitingSince = 0;
        for (int spins = 0; ; spins++) {
            int begin = RowSeqlock.readBegin(seq, row);
            if ((begin & 1) == 0) {
                copyRaw(m.matrix(), at, dstArray, dstSegment, dstOffset, scratch);
                if (RowSeqlock.readValidate(seq, row, begin)) {
                    return;
                }
            } else if (damaged.contains(row)) {
                throw damagedRowError(row);
            }
            if (spins < SPINS_BEFORE_CHECK) {
                Thread.onSpinWait();
            } else {
                if (waitingSince == 0) {
                    waitingSince = System.nanoTime();
                }
                waitForWriter(row, begin, waitingSince);
            }
        }
    }

    /**
     * A row stayed busy past the spin budget: fail if the writer is gone (it died mid-write and left the counter odd)
     * or after {@link #ROW_WAIT_NANOS}; otherwise park briefly and let the caller retry.
     */
    void waitForWriter(long row, int sequence, long waitingSince) {
        long pid = control.writerPid();
        boolean alive = pid == ProcessHandle.current().pid()
                || (pid != 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        if (!alive) {
            throw new StoreException(StoreException.Kind.CORRUPT, dir,
                    "row " + row + " was left half-written (sequence " + sequence
                    + ") by a writer that is no longer running: its content is unknown; open the store for writing and"
                    + " rewrite the row with write(" + row + ", vector) (a trainer's attach restores the rows of an"
                    + " interrupted step)");
        }
        if (System.nanoTime() - waitingSince > ROW_WAIT_NANOS) {
            throw new StoreException(StoreException.Kind.LOCKED, dir,
                    "row " + row + " has been under write by pid " + pid
                    + " for more than " + ROW_WAIT_NANOS / 1_000_000_000L + " s");
        }
        LockSupport.parkNanos(50_000);
        if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            throw new StoreException(StoreException.Kind.IO, dir,
                    "interrupted while waiting for row " + row + " to be written");
        }
    }

    StoreException damagedRowError(long row) {
        return new StoreException(StoreException.Kind.CORRUPT, dir,
                "row " + row + " is damaged: a write of it did not complete (its writer died or"
                + " the write failed), so its content is unknown; rewrite it with write(" + row + ", vector) in the"
                + " writer (a trainer's attach restores it from its undo log if a training step left it)");
    }

    void copyRaw(MemorySegment matrix, long at, float[] dstArray, MemorySegment dstSegment, long dstOffset,
                         Scratch scratch) {
        if (dtype == Dtype.F32) {
            if (dstArray != null) {
                MemorySegment.copy(matrix, F32_LE, at, dstArray, (int) dstOffset, dim);
            } else {
                MemorySegment.copy(matrix, F32_LE, at, dstSegment, F32_NATIVE_U, dstOffset, dim);
            }
            return;
        }
        float[] out = dstArray != null ? dstArray : scratch.floats;
        int to = dstArray != null ? (int) dstOffset : 0;
        if (dtype.quantized()) {
            QuantizedRows.dequantize(dtype, matrix, at, dim, scratch.codes, out, to);
        } else {
            short[] halves = scratch.halves;
            MemorySegment.copy(matrix, F16_LE, at, halves, 0, dim);
            for (int i = 0; i < dim; i++) {
                out[to + i] = Float.float16ToFloat(halves[i]);
            }
        }
        if (dstArray == null) {
            MemorySegment.copy(out, 0, dstSegment, F32_NATIVE_U, dstOffset, dim);
        }
    }
}
