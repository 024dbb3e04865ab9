package io.embstore.trainer;

import io.embstore.store.io.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.roaringbitmap.RoaringBitmap;

/**
 * The checkpoint record {@code optim.checkpoint}: what the last committed checkpoint was, and which rows each of the
 * recent checkpoints changed (for {@code dirtySince}). Replaced as a whole, atomically, by
 * {@link DurableFiles#replace}: written to a temporary sibling, forced, renamed over the record, then the directory is
 * forced. The rename is the commit point of a checkpoint.
 *
 * <pre>
 *  0   u64  magic             "EMBSCKP1"
 *  8   u32  version           1
 *  12  u32  history_count     entries below (at most HISTORY_LIMIT)
 *  16  i64  epoch             checkpoint number: 0 when the state was created, +1 per checkpoint
 *  24  i64  step              the global step counter t at the checkpoint
 *  32  i64  generation        the store generation the checkpoint published
 *  40  i64  rows              store rows at the checkpoint
 *  48  i64  base_generation   dirtySince(g) for g below this cannot be answered from the history: every row
 *  56  u64  reserved (0)
 *  64  history_count x { i64 generation, u32 bytes, bytes of a RoaringBitmap (portable serialisation) }
 *      oldest first; entry i holds the rows changed after checkpoint i-1 up to checkpoint i (which published generation)
 *  ..  u32  crc32c of every byte before it
 * </pre>
 */
final class CheckpointRecord {
    static final String FILE = "optim.checkpoint";
    static final long MAGIC = 0x31504b4353424d45L; // "EMBSCKP1" little-endian
    static final int VERSION = 1;
    static final int HISTORY_COUNT_OFFSET = 12;
    static final int EPOCH_OFFSET = 16;
    static final int STEP_OFFSET = 24;
    static final int GENERATION_OFFSET = 32;
    static final int ROWS_OFFSET = 40;
    static final int BASE_GENERATION_OFFSET = 48;
    static final int HISTORY_OFFSET = 64;
    /** Checkpoints whose dirty rows are kept; older ones fold into base_generation. */
    static final int HISTORY_LIMIT = 64;

    record Entry(long generation, RoaringBitmap rows) {
    }

    final long epoch;
    final long step;
    final long generation;
    final long rows;
    final long baseGeneration;
    final List<Entry> history;

    CheckpointRecord(long epoch, long step, long generation, long rows, long baseGeneration, List<Entry> history) {
        this.epoch = epoch;
        this.step = step;
        this.generation = generation;
        this.rows = rows;
        this.baseGeneration = baseGeneration;
        this.history = List.copyOf(history);
    }

    /** The record that follows this one, with {@code changed} as its history entry (the oldest falls off past the limit). */
    CheckpointRecord next(long newStep, long newGeneration, long newRows, RoaringBitmap changed) {
        List<Entry> h = new ArrayList<>(history);
        h.add(new Entry(newGeneration, changed));
        long base = baseGeneration;
        while (h.size() > HISTORY_LIMIT) {
            base = h.removeFirst().generation();
        }
        return new CheckpointRecord(epoch + 1, newStep, newGeneration, newRows, base, h);
    }

    /** Rows changed after the checkpoint that published {@code since}, or null when the history does not reach back. */
    RoaringBitmap changedAfter(long since) {
        if (since < baseGeneration) {
            return null;
        }
        RoaringBitmap out = new RoaringBitmap();
        for (Entry e : history) {
            if (e.generation() > since) {
                out.or(e.rows());
            }
        }
        return out;
    }

    byte[] encode() {
        int bytes = HISTORY_OFFSET + 4;
        for (Entry e : history) {
            e.rows().runOptimize();
            bytes += 12 + e.rows().serializedSizeInBytes();
        }
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, MAGIC).putInt(8, VERSION).putInt(HISTORY_COUNT_OFFSET, history.size()).putLong(EPOCH_OFFSET, epoch)
                .putLong(STEP_OFFSET, step).putLong(GENERATION_OFFSET, generation).putLong(ROWS_OFFSET, rows)
                .putLong(BASE_GENERATION_OFFSET, baseGeneration);
        b.position(HISTORY_OFFSET);
        for (Entry e : history) {
            b.putLong(e.generation()).putInt(e.rows().serializedSizeInBytes());
            e.rows().serialize(b); // RoaringBitmap's portable format is little-endian whatever the buffer says
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    static CheckpointRecord decode(Path file, byte[] bytes) {
        if (bytes.length < HISTORY_OFFSET + 4) {
            throw StateErrors.corrupt(file, "truncated: " + bytes.length + " bytes, a checkpoint record has at least "
                    + (HISTORY_OFFSET + 4));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(0) != MAGIC || b.getInt(8) != VERSION) {
            throw StateErrors.corrupt(file, "not an embstore checkpoint record (magic/version "
                    + Long.toHexString(b.getLong(0)) + "/" + b.getInt(8) + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != b.getInt(bytes.length - 4)) {
            throw StateErrors.corrupt(file, "CRC-32C mismatch: the checkpoint record is damaged");
        }
        int count = b.getInt(HISTORY_COUNT_OFFSET);
        if (count < 0 || count > HISTORY_LIMIT) {
            throw StateErrors.corrupt(file, "history_count " + count + " outside 0.." + HISTORY_LIMIT);
        }
        List<Entry> history = new ArrayList<>(count);
        b.position(HISTORY_OFFSET);
        try {
            for (int i = 0; i < count; i++) {
                long generation = b.getLong();
                int len = b.getInt();
                ByteBuffer slice = b.slice(b.position(), len);
                RoaringBitmap rows = new RoaringBitmap();
                rows.deserialize(slice);
                b.position(b.position() + len);
                history.add(new Entry(generation, rows));
            }
        } catch (IOException | RuntimeException e) {
            throw StateErrors.corrupt(file, "damaged history of dirty rows: " + e.getMessage(), e);
        }
        return new CheckpointRecord(b.getLong(EPOCH_OFFSET), b.getLong(STEP_OFFSET), b.getLong(GENERATION_OFFSET),
                b.getLong(ROWS_OFFSET), b.getLong(BASE_GENERATION_OFFSET), history);
    }

    static CheckpointRecord read(Path dir) {
        Path file = dir.resolve(FILE);
        try {
            return decode(file, Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw StateErrors.corrupt(file, "missing: optim.meta says the optimizer state exists", e);
        } catch (IOException e) {
            throw StateErrors.io(file, "cannot read", e);
        }
    }

    /** Temp file, fsync, rename, fsync of the directory: the record is replaced whole or not at all. */
    void writeAtomically(Path dir, Durability durability) {
        Path file = dir.resolve(FILE);
        try {
            DurableFiles.replace(file, encode(), durability);
        } catch (IOException e) {
            throw StateErrors.io(file, "cannot write the checkpoint record", e);
        }
    }
}
