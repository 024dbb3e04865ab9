package io.embstore.store;

import io.embstore.store.io.MajorFaults;
import io.embstore.store.io.MappingAdvice;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Keeps the pages ahead of a front-to-back read of a mapping on their way in ({@code MADV_WILLNEED}), for the scans of
 * the store's random-advised mappings (see {@link StoreMapping#adviseRows}): without it a scan of a cold matrix faults
 * one page at a time, a disk read per 4 KiB.
 *
 * <p>Which scans use it, and how:
 * <ul>
 *   <li>similarity queries ({@link SimilarityScan}, {@link QuantizedScan}): only once a part of the scan is seen
 *       waiting ({@link #whenSlow}): asking for resident pages costs a system call of about 3 µs per MiB here, 7% of a
 *       scan at memory speed, so a table in memory must not pay it (benchmarks/results/larger-than-memory.md);</li>
 *   <li>{@link EmbeddingStore#verify()} and export ({@link EmbeddingStore#willRead}): always ({@link #always}), as a
 *       one-shot pass over every row costs far more than the calls.</li>
 * </ul>
 * Used by one thread; a scan split in parts has one per part.
 */
final class ScanAhead {
    /** Bytes asked for ahead of the position: a few device read-aheads in flight per scanning thread. */
    static final long WINDOW = 16L << 20;
    /** Bytes read between two looks at the clock while the scan is not asking ahead. */
    static final long PROBE = 1L << 20;
    /**
     * A probe that took longer waited on the disk: 1 MiB of rows is read in well under 1 ms from memory (even with a
     * minor fault per 64 KiB), and in about 25 ms when its 256 pages are read one fault at a time. A scan slowed by
     * its arithmetic (many queries at once) may cross it too; asking ahead then costs nothing measurable.
     */
    static final long SLOW_PROBE_NANOS = 4_000_000;

    private final MappingAdvice advice;
    private final MemorySegment mapping;
    private final Path file;
    private final long end;
    private boolean ahead;
    private boolean started;
    private static final long NOT_SLOW = Long.MIN_VALUE;
    /** The major faults read at the last probe, when it was slow (-1: unknown); {@link #NOT_SLOW} when it was not. */
    private long slowFaults = NOT_SLOW;
    /** The position from which the next call does more than compare. */
    private long nextCheck;
    private long checkedAt;
    /** Where the pages asked for so far end. */
    private long advisedTo;

    private ScanAhead(MappingAdvice advice, MemorySegment mapping, Path file, long from, long to, boolean ahead) {
        this.advice = advice;
        this.mapping = mapping;
        this.file = file;
        this.end = to;
        this.ahead = ahead;
        this.advisedTo = from;
        this.nextCheck = advice == null || !MappingAdvice.available() ? Long.MAX_VALUE : from;
    }

    /** Asks ahead from the start: for one-shot passes over the whole range. {@code advice} null: never asks. */
    static ScanAhead always(MappingAdvice advice, MemorySegment mapping, Path file, long from, long to) {
        return new ScanAhead(advice, mapping, file, from, to, true);
    }

    /**
     * Asks ahead once two {@link #PROBE}s in a row took longer than memory would, the second with major faults.
     * {@code advice} null: never asks.
     */
    static ScanAhead whenSlow(MappingAdvice advice, MemorySegment mapping, Path file, long from, long to) {
        return new ScanAhead(advice, mapping, file, from, to, false);
    }

    /** The scan is about to read byte {@code position} of the mapping (positions only grow). */
    void at(long position) {
        if (position >= nextCheck) {
            check(position);
        }
    }

    private void check(long position) {
        if (!ahead) {
            long now = System.nanoTime();
            long took = now - checkedAt;
            checkedAt = now;
            if (!started || took < SLOW_PROBE_NANOS) {
                started = true;
                slowFaults = NOT_SLOW;
                nextCheck = position + PROBE;
                return;
            }
            // Slow: ask ahead only if this probe waited on the disk (major faults since the previous slow probe), not
            // if the CPU was busy elsewhere.
            long faults = MajorFaults.ofThisThread();
            boolean disk = faults < 0 ? slowFaults != NOT_SLOW : slowFaults >= 0 && faults > slowFaults;
            slowFaults = faults;
            checkedAt = System.nanoTime();
            if (!disk) {
                nextCheck = position + PROBE;
                return;
            }
            ahead = true;
        }
        long from = Math.max(position, advisedTo);
        long to = Math.min(end, position + WINDOW);
        if (to > from) {
            advice.willNeed(mapping, from, to - from, file);
            advisedTo = to;
        }
        // Asked again when half the window is read: the disk always has the other half to work on.
        nextCheck = advisedTo >= end ? Long.MAX_VALUE : advisedTo - WINDOW / 2;
    }
}
