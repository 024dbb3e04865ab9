package io.embstore.store;

import io.embstore.store.io.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code damaged.rows}: the rows whose last write did not complete (a writer died in the middle of the row, or the
 * write itself failed), so that their content is unknown. Such a row keeps its odd sequence counter; this file says
 * that the counter is odd for good, not because a write is under way, so readers fail at once instead of waiting.
 *
 * <pre>
 *  0        8         12         16        24
 *  +--------+---------+----------+---------+------------+-- ... --+------------+
 *  | magic  | version | reserved | count   | row 0      |         | row n-1    |   rows int64, ascending
 *  +--------+---------+----------+---------+------------+-- ... --+------------+
 * </pre>
 *
 * <p>A row is damaged when it is listed here <em>and</em> its counter in {@code rows.seq} is odd: a row rewritten by a
 * writer that then died before it could update this file has an even counter and is whole. The file is absent when no
 * row is damaged. Only the writer writes it, each time whole (temporary file, fsync, rename, fsync of the directory);
 * then it release-writes the count into {@code damaged_rows} and bumps {@code damaged_epoch} in {@code control.bin},
 * which readers acquire-read before they (re)read this file.
 *
 * <p>An instance is the list as one open store knows it: the writer's own list, which the file follows, or a reader's
 * copy of the file as of an epoch, read again when {@code damaged_epoch} moves.
 */
final class DamagedRows {
    static final String FILE = "damaged.rows";
    /** "EMBSDMG1" in ASCII, read as a little-endian long. */
    static final long MAGIC = 0x31474d4453424d45L;
    static final int VERSION = 1;
    /** long: {@link #MAGIC}. */
    static final int MAGIC_OFFSET = 0;
    /** int: {@link #VERSION}. */
    static final int VERSION_OFFSET = 8;
    /** long: rows listed. */
    static final int COUNT_OFFSET = 16;
    /** The rows, int64 each, in ascending order. */
    static final int ROWS_OFFSET = 24;

    private final Path dir;
    private final ControlBlock control;
    private final boolean writer;
    /** Serialises the writer's changes. */
    private final Object lock = new Object();
    private volatile Snapshot snapshot;

    /** The list as of {@code epoch} of damaged_epoch; replaced as a whole. */
    private record Snapshot(long epoch, long[] rows) {
        /** A reader's start: no damaged_epoch has this value, so the first look reads the file (if count says so). */
        static final Snapshot UNREAD = new Snapshot(Long.MIN_VALUE, new long[0]);

        boolean contains(long row) {
            return rows.length != 0 && Arrays.binarySearch(rows, row) >= 0;
        }
    }

    private DamagedRows(Path dir, ControlBlock control, boolean writer, Snapshot snapshot) {
        this.dir = dir;
        this.control = control;
        this.writer = writer;
        this.snapshot = snapshot;
    }

    /** A reader's view: the file is read on first use and again whenever the writer replaced it. */
    static DamagedRows forReader(Path dir, ControlBlock control) {
        return new DamagedRows(dir, control, false, Snapshot.UNREAD);
    }

    /**
     * The writer's list at open: makes the file list exactly {@code odd} (the odd rows among the live ones), durably,
     * and publishes its count; rows listed before whose counter is even again were rewritten and go.
     */
    static DamagedRows recordAtOpen(Path dir, ControlBlock control, long[] odd) {
        Path file = dir.resolve(FILE);
        if (odd.length != 0 || control.damagedRows() != 0 || Files.exists(file)) {
            try {
                write(dir, odd);
            } catch (IOException e) {
                throw new StoreException(StoreException.Kind.IO, file,
                        "cannot record the " + odd.length + " damaged rows", e);
            }
            control.damagedRowsReplaced(odd.length);
        }
        if (odd.length > 0) {
            System.getLogger(DamagedRows.class.getName()).log(System.Logger.Level.WARNING, dir + ": "
                    + odd.length + " damaged rows, whose writes did not complete (rows "
                    + Arrays.toString(Arrays.copyOf(odd, Math.min(10, odd.length)))
                    + (odd.length > 10 ? " ..." : "") + "): they read as damaged until rewritten with write(row, vector);"
                    + " a trainer's attach restores the rows of an interrupted step");
        }
        return new DamagedRows(dir, control, true, new Snapshot(control.damagedEpoch(), odd));
    }

    /** The listed rows, ascending (a row is damaged only if its counter is odd too). Shared: do not modify. */
    long[] rows() {
        Snapshot s = snapshot;
        if (writer) {
            return s.rows();
        }
        long epoch = control.damagedEpoch();
        if (epoch != s.epoch()) {
            // The epoch first: the file read after it is at least that new; a newer one is read again next time.
            s = new Snapshot(epoch, control.damagedRows() == 0 ? new long[0] : read(dir));
            snapshot = s;
        }
        return s.rows();
    }

    boolean contains(long row) {
        long[] rows = rows();
        return rows.length != 0 && Arrays.binarySearch(rows, row) >= 0;
    }

    /**
     * The writer lists {@code row} after its write failed with {@code cause}: in memory first, so that this writer's
     * reads of it fail at once whatever happens to the file. Returns "" or, when the file could not be written (its
     * error added to {@code cause}), words saying so for the exception's message.
     */
    String add(long row, Throwable cause) {
        synchronized (lock) {
            Snapshot s = snapshot;
            long[] rows = s.rows();
            int at = Arrays.binarySearch(rows, row);
            if (at < 0) {
                long[] more = new long[rows.length + 1];
                int i = -at - 1;
                System.arraycopy(rows, 0, more, 0, i);
                more[i] = row;
                System.arraycopy(rows, i, more, i + 1, rows.length - i);
                rows = more;
            }
            snapshot = new Snapshot(s.epoch(), rows);
            try {
                write(dir, rows);
                control.damagedRowsReplaced(rows.length);
                return "";
            } catch (IOException | RuntimeException e) {
                cause.addSuppressed(e);
                return "; the mark could not be written to " + FILE + " (" + e.getMessage()
                        + "): the next writer to open the store records it";
            }
        }
    }

    /**
     * The writer takes a rewritten {@code row} off the list, after {@code forceRow} made the row durable, so that
     * after a power cut the row is either still listed or whole on disk. A failure leaves it listed on disk, which is
     * harmless (a listed row with an even counter is not damaged) and is logged.
     */
    void remove(long row, Runnable forceRow) {
        if (!snapshot.contains(row)) {
            return;
        }
        synchronized (lock) {
            Snapshot s = snapshot;
            if (!s.contains(row)) {
                return;
            }
            long[] rows = Arrays.stream(s.rows()).filter(r -> r != row).toArray();
            try {
                forceRow.run();
                write(dir, rows);
            } catch (IOException | java.io.UncheckedIOException e) {
                System.getLogger(DamagedRows.class.getName()).log(System.Logger.Level.WARNING, dir + ": row " + row
                        + " was rewritten, but could not be taken off " + FILE + ": " + e);
                return;
            }
            snapshot = new Snapshot(s.epoch(), rows);
            control.damagedRowsReplaced(rows.length);
        }
    }

    /** The rows listed in {@code dir}'s file, ascending; empty when there is no file. */
    static long[] read(Path dir) {
        Path file = dir.resolve(FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new long[0];
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, file, "cannot read the list of damaged rows", e);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < ROWS_OFFSET || b.getLong(MAGIC_OFFSET) != MAGIC) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "not a list of damaged rows: bad magic, expected \"EMBSDMG1\"");
        }
        int version = b.getInt(VERSION_OFFSET);
        if (version != VERSION) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "version " + version + " is not supported, expected " + VERSION);
        }
        long count = b.getLong(COUNT_OFFSET);
        if (count < 0 || count != (bytes.length - ROWS_OFFSET) / Long.BYTES || (bytes.length - ROWS_OFFSET) % Long.BYTES != 0) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "count " + count + " does not match the file's " + bytes.length + " bytes");
        }
        long[] rows = new long[(int) count];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = b.getLong(ROWS_OFFSET + i * Long.BYTES);
            if (rows[i] < 0 || (i > 0 && rows[i] <= rows[i - 1])) {
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        "row " + rows[i] + " at entry " + i + " is negative or out of order");
            }
        }
        return rows;
    }

    /**
     * Replaces the file with {@code rows} (ascending), or deletes it when there are none, durably: after this returns
     * the list survives a power cut.
     */
    static void write(Path dir, long[] rows) throws IOException {
        Path file = dir.resolve(FILE);
        if (rows.length == 0) {
            if (Files.deleteIfExists(file)) {
                DurableFiles.forceDirectory(dir);
            }
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(ROWS_OFFSET + rows.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC_OFFSET, MAGIC).putInt(VERSION_OFFSET, VERSION).putLong(COUNT_OFFSET, rows.length);
        for (int i = 0; i < rows.length; i++) {
            b.putLong(ROWS_OFFSET + i * Long.BYTES, rows[i]);
        }
        DurableFiles.replace(file, b.array());
    }
}
