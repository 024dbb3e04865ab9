package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The mapped control block {@code control.bin}: the small piece of shared state through which the one writer
 * publishes to readers in other processes. All fields are little-endian and 8-byte aligned.
 *
 * <pre>
 *  0        8        12       16          24           32         40           48          56          64
 *  +--------+--------+--------+-----------+------------+----------+------------+-----------+-----------+-- ...
 *  | magic  |version |reserved| live_rows | generation | capacity | index_epoch| word_bytes| writer_pid|
 *  +--------+--------+--------+-----------+------------+----------+------------+-----------+-----------+-- ...
 *
 *  64           72             80              88
 *  +------------+--------------+---------------+-- ... 4096
 *  | norms_rows | damaged_rows | damaged_epoch |   reserved, zero
 *  +------------+--------------+---------------+-- ...
 * </pre>
 *
 * <p>Memory ordering, as release/acquire pairs:
 * <ul>
 *   <li>the writer extends every file, then release-writes {@code capacity}; a reader acquire-reads it before it maps
 *       that much of a file;</li>
 *   <li>the writer writes a new row's vector, word record, offset and index slot, then release-writes
 *       {@code word_bytes} and {@code live_rows}; a reader acquire-reads {@code live_rows} first in {@code refresh()}
 *       and so sees everything the row needs;</li>
 *   <li>the writer renames a rebuilt {@code vocab.index} into place, then release-writes {@code index_epoch};</li>
 *   <li>the writer writes norms to {@code norms.f32}, then release-writes {@code norms_rows}; a reader acquire-reads
 *       it before it trusts any norm (see {@link RowNorms});</li>
 *   <li>the writer replaces {@code damaged.rows}, then release-writes {@code damaged_rows} and {@code damaged_epoch};
 *       a reader acquire-reads {@code damaged_epoch} and re-reads the file when it moved (see {@link DamagedRows});</li>
 *   <li>{@code generation} is release-written by {@code publish()/flush()} and by growth, acquire-read by readers that
 *       poll for change.</li>
 * </ul>
 * The writer's side of every pair is {@link WritableStore}'s (its appends, growth, index rebuild, norms and flush); the
 * reader's side is {@link EmbeddingStore#refresh()}'s and the read path's.
 */
final class ControlBlock {
    /** Size of the file; the rest after the fields is reserved and zero. */
    static final int BYTES = 4096;
    /** "EMBSCTL1" in ASCII, read as a little-endian long. */
    static final long MAGIC = 0x314c544353424d45L;
    /** Layout version of this block. */
    static final int VERSION = 1;

    /** long: {@link #MAGIC}. */
    static final long MAGIC_OFFSET = 0;
    /** int: {@link #VERSION}. */
    static final long VERSION_OFFSET = 8;
    /** long: rows visible to readers (release/acquire). */
    static final long LIVE_ROWS_OFFSET = 16;
    /** long: bumped on every publish (release/acquire). */
    static final long GENERATION_OFFSET = 24;
    /** long: rows the matrix, sequence and offset files have room for (release/acquire). */
    static final long CAPACITY_OFFSET = 32;
    /** long: bumped each time vocab.index is rebuilt and renamed into place (release/acquire). */
    static final long INDEX_EPOCH_OFFSET = 40;
    /** long: bytes of vocab.words in use (release/acquire). */
    static final long WORD_BYTES_OFFSET = 48;
    /** long: process id of the writer that holds the lock, 0 when none. */
    static final long WRITER_PID_OFFSET = 56;
    /**
     * long: rows [0, norms_rows) have a current norm in {@code norms.f32} (release/acquire); 0 when there is no such
     * file or it cannot be trusted. Stores made before norms existed have 0 here, as the block was reserved and zero.
     */
    static final long NORMS_ROWS_OFFSET = 64;
    /**
     * long: how many rows {@code damaged.rows} lists (release/acquire); 0 when none, which readers take as "no need to
     * read the file". Stores made before damaged rows were recorded have 0 here, as the block was reserved and zero.
     */
    static final long DAMAGED_ROWS_OFFSET = 72;
    /** long: bumped each time {@code damaged.rows} is replaced (release/acquire), so readers know to re-read it. */
    static final long DAMAGED_EPOCH_OFFSET = 80;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_HANDLE = LONG.varHandle();

    private final MemorySegment seg;

    ControlBlock(MemorySegment seg) {
        this.seg = seg;
    }

    /** Writes a fresh block into a zeroed segment. */
    static void initialize(MemorySegment seg, long rows, long capacity, long wordBytes) {
        seg.set(LONG, MAGIC_OFFSET, MAGIC);
        seg.set(INT, VERSION_OFFSET, VERSION);
        seg.set(LONG, LIVE_ROWS_OFFSET, rows);
        seg.set(LONG, GENERATION_OFFSET, 1);
        seg.set(LONG, CAPACITY_OFFSET, capacity);
        seg.set(LONG, INDEX_EPOCH_OFFSET, 1);
        seg.set(LONG, WORD_BYTES_OFFSET, wordBytes);
        seg.set(LONG, WRITER_PID_OFFSET, 0);
    }

    /**
     * A fresh block as bytes, for writing a new control.bin with ordinary file I/O; {@code normsRows} rows have
     * current norms in norms.f32.
     */
    static java.nio.ByteBuffer fresh(long rows, long capacity, long wordBytes, long normsRows) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            // Off-heap because the layout's fields are aligned, which a byte[] cannot promise.
            MemorySegment seg = arena.allocate(BYTES, Long.BYTES);
            initialize(seg, rows, capacity, wordBytes);
            seg.set(LONG, NORMS_ROWS_OFFSET, normsRows);
            return java.nio.ByteBuffer.wrap(seg.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** Checks magic, version and that the counts are sane; the sizes of other files are checked by the caller. */
    void check(Path file) {
        if (seg.byteSize() != BYTES) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "control block is " + seg.byteSize() + " bytes, expected " + BYTES);
        }
        if (seg.get(LONG, MAGIC_OFFSET) != MAGIC) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "bad control block magic, expected \"EMBSCTL1\"");
        }
        int version = seg.get(INT, VERSION_OFFSET);
        if (version != VERSION) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "control block version " + version + " is not supported, expected " + VERSION);
        }
        long rows = liveRows();
        long capacity = capacity();
        if (capacity < 0 || capacity > EmbeddingStore.MAX_ROWS) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "capacity " + capacity + " is outside [0, " + EmbeddingStore.MAX_ROWS + "]");
        }
        if (rows < 0 || rows > capacity) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "live_rows " + rows + " is outside [0, capacity=" + capacity + "]");
        }
        if (normsRows() < 0) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "norms_rows " + normsRows() + " is negative");
        }
        if (damagedRows() < 0) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "damaged_rows " + damagedRows() + " is negative");
        }
        if (wordBytes() < 0) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "word_bytes " + wordBytes() + " is negative");
        }
    }

    long liveRows() {
        return (long) LONG_HANDLE.getAcquire(seg, LIVE_ROWS_OFFSET);
    }

    void liveRows(long rows) {
        LONG_HANDLE.setRelease(seg, LIVE_ROWS_OFFSET, rows);
    }

    long generation() {
        return (long) LONG_HANDLE.getAcquire(seg, GENERATION_OFFSET);
    }

    long bumpGeneration() {
        long next = generation() + 1;
        LONG_HANDLE.setRelease(seg, GENERATION_OFFSET, next);
        return next;
    }

    long capacity() {
        return (long) LONG_HANDLE.getAcquire(seg, CAPACITY_OFFSET);
    }

    void capacity(long capacity) {
        LONG_HANDLE.setRelease(seg, CAPACITY_OFFSET, capacity);
    }

    long indexEpoch() {
        return (long) LONG_HANDLE.getAcquire(seg, INDEX_EPOCH_OFFSET);
    }

    void indexEpoch(long epoch) {
        LONG_HANDLE.setRelease(seg, INDEX_EPOCH_OFFSET, epoch);
    }

    long wordBytes() {
        return (long) LONG_HANDLE.getAcquire(seg, WORD_BYTES_OFFSET);
    }

    void wordBytes(long bytes) {
        LONG_HANDLE.setRelease(seg, WORD_BYTES_OFFSET, bytes);
    }

    long normsRows() {
        return (long) LONG_HANDLE.getAcquire(seg, NORMS_ROWS_OFFSET);
    }

    void normsRows(long rows) {
        LONG_HANDLE.setRelease(seg, NORMS_ROWS_OFFSET, rows);
    }

    long damagedRows() {
        return (long) LONG_HANDLE.getAcquire(seg, DAMAGED_ROWS_OFFSET);
    }

    long damagedEpoch() {
        return (long) LONG_HANDLE.getAcquire(seg, DAMAGED_EPOCH_OFFSET);
    }

    /** Publishes a new {@code damaged.rows} holding {@code count} rows: the count first, then the epoch readers poll. */
    void damagedRowsReplaced(long count) {
        LONG_HANDLE.setRelease(seg, DAMAGED_ROWS_OFFSET, count);
        LONG_HANDLE.setRelease(seg, DAMAGED_EPOCH_OFFSET, damagedEpoch() + 1);
    }

    long writerPid() {
        return (long) LONG_HANDLE.getAcquire(seg, WRITER_PID_OFFSET);
    }

    void writerPid(long pid) {
        LONG_HANDLE.setRelease(seg, WRITER_PID_OFFSET, pid);
    }
}
