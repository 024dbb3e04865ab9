package io.embstore.trainer;

import io.embstore.store.io.FileSpace;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;
import java.util.zip.CRC32C;


/**
 * The undo log {@code optim.undo}: the pre-image of every row changed since the last checkpoint, written and forced
 * <em>before</em> the row's first change, so that after a crash the rows can be put back exactly as the checkpoint
 * left them. A mapped page may reach the disk at any moment after it is written, which is why the record must be
 * durable first; the trainer batches this per step (all of a step's newly dirty rows, one force).
 *
 * <pre>
 *  header (64 bytes)
 *  0   u64  magic          "EMBSUND1"
 *  8   u32  version        1
 *  12  u32  dim
 *  16  u32  state_floats   optimizer floats per row in the record (adam: 2 * dim, rowwise_adagrad: 1, sgd: 0)
 *  20  u32  record_bytes   RECORD_FIXED + 4 * (dim + state_floats), rounded up to 8
 *  24  ... zero up to 64
 *
 *  record (record_bytes, from offset 64, back to back)
 *  0   i64  row
 *  8   i64  epoch          the checkpoint the record was written after (see CheckpointRecord)
 *  16  i64  update_count   the row's counters (optim.rows.npy) before the change
 *  24  i64  last_step
 *  32  f32  weights[dim]   the row as float32 (exact for an f16 matrix too: f16 -> f32 -> f16 is the identity)
 *  ..  f32  state[state_floats]   adam: m[dim] then v[dim]; rowwise_adagrad: acc
 *  ..  u32  crc32c         of the record's bytes before it
 *  ..  zero padding to record_bytes
 * </pre>
 *
 * Recovery applies every record whose CRC is right and whose epoch is the committed checkpoint's; anything else is a
 * record of an older epoch (the log is truncated after a checkpoint commits, but that truncation need not be durable)
 * or a record torn by the crash, whose row was therefore never changed (the batch's force had not returned).
 */
final class UndoLog implements AutoCloseable {
    static final String FILE = "optim.undo";
    static final long MAGIC = 0x31444e5553424d45L; // "EMBSUND1" little-endian
    static final int VERSION = 1;
    static final int HEADER_BYTES = 64;
    /** Offset of {@code dim} in the header. */
    static final int DIM_OFFSET = 12;
    /** Offset of {@code state_floats} in the header. */
    static final int STATE_FLOATS_OFFSET = 16;
    /** Offset of {@code record_bytes} in the header. */
    static final int RECORD_BYTES_OFFSET = 20;
    /** Record offsets. */
    static final int ROW_OFFSET = 0;
    static final int EPOCH_OFFSET = 8;
    static final int COUNT_OFFSET = 16;
    static final int LAST_STEP_OFFSET = 24;
    static final int WEIGHTS_OFFSET = 32;
    /** Bytes of a record besides weights and state: the four longs and the CRC. */
    static final int RECORD_FIXED = 32 + 4;

    private final Path file;
    private final FileChannel channel;
    private final Durability durability;
    private final int recordBytes;
    private long end;

    private UndoLog(Path file, FileChannel channel, Durability durability, int recordBytes, long end) {
        this.file = file;
        this.channel = channel;
        this.durability = durability;
        this.recordBytes = recordBytes;
        this.end = end;
    }

    static int recordBytes(int dim, int stateFloats) {
        int raw = RECORD_FIXED + 4 * (dim + stateFloats);
        return (raw + 7) & ~7;
    }

    /** Offset of the CRC in a record. */
    static int crcOffset(int dim, int stateFloats) {
        return WEIGHTS_OFFSET + 4 * (dim + stateFloats);
    }

    /** Creates the file with its header only (used while the state is built, before optim.meta commits it). */
    static void create(Path file, int dim, int stateFloats, Durability durability) throws IOException {
        Files.deleteIfExists(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            h.putLong(0, MAGIC).putInt(8, VERSION).putInt(DIM_OFFSET, dim).putInt(STATE_FLOATS_OFFSET, stateFloats)
                    .putInt(RECORD_BYTES_OFFSET, recordBytes(dim, stateFloats));
            ch.write(h, 0);
            durability.force(file, ch, true);
        }
    }

    /**
     * Opens the log, checks its header against {@code dim} and {@code stateFloats}, and passes every record (CRC
     * checked, epoch not yet filtered) to {@code onRecord} in file order. The buffer passed is reused.
     */
    static UndoLog open(Path file, int dim, int stateFloats, Durability durability, Consumer<ByteBuffer> onRecord) {
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw StateErrors.corrupt(file, "truncated: " + size + " bytes, the header alone is " + HEADER_BYTES);
            }
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, h, 0);
            if (h.getLong(0) != MAGIC || h.getInt(8) != VERSION) {
                throw StateErrors.corrupt(file, "not an embstore undo log (magic/version " + Long.toHexString(h.getLong(0))
                        + "/" + h.getInt(8) + ")");
            }
            int rb = recordBytes(dim, stateFloats);
            if (h.getInt(DIM_OFFSET) != dim || h.getInt(STATE_FLOATS_OFFSET) != stateFloats || h.getInt(RECORD_BYTES_OFFSET) != rb) {
                throw StateErrors.corrupt(file, "written for dim=" + h.getInt(DIM_OFFSET) + ", state_floats="
                        + h.getInt(STATE_FLOATS_OFFSET) + ", record_bytes=" + h.getInt(RECORD_BYTES_OFFSET) + "; expected "
                        + dim + ", " + stateFloats + ", " + rb);
            }
            int crcAt = crcOffset(dim, stateFloats);
            ByteBuffer rec = ByteBuffer.allocate(rb).order(ByteOrder.LITTLE_ENDIAN);
            long at = HEADER_BYTES;
            for (; at + rb <= size; at += rb) {
                rec.clear();
                readFully(ch, rec, at);
                CRC32C crc = new CRC32C();
                crc.update(rec.array(), 0, crcAt);
                if ((int) crc.getValue() == rec.getInt(crcAt)) {
                    onRecord.accept(rec);
                }
            }
            return new UndoLog(file, ch, durability, rb, size);
        } catch (IOException e) {
            close(ch);
            throw StateErrors.io(file, "cannot read the undo log", e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    private static void close(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, at + b.position());
            if (n < 0) {
                throw new IOException("unexpected end of file at " + (at + b.position()));
            }
        }
    }

    int recordBytes() {
        return recordBytes;
    }

    /** Seals every record in {@code batch} (fills its CRC) and appends them; not yet durable: call {@link #force()}. */
    void append(ByteBuffer batch, int records, int crcAt) {
        for (int i = 0; i < records; i++) {
            int base = i * recordBytes;
            CRC32C crc = new CRC32C();
            crc.update(batch.array(), base, crcAt);
            batch.putInt(base + crcAt, (int) crc.getValue());
        }
        batch.position(0).limit(records * recordBytes);
        // Reserved first, so that a full disk is the store's "no space left" error with the bytes missing. The
        // records' region then reads as zeros until written, which recovery skips (their CRC is wrong).
        FileSpace.reserve(file, end, end + (long) records * recordBytes);
        try {
            while (batch.hasRemaining()) {
                channel.write(batch, end + batch.position());
            }
        } catch (IOException e) {
            throw StateErrors.io(file, "cannot append to the undo log", e);
        }
        end += (long) records * recordBytes;
    }

    /** fdatasync: the records appended so far are on disk when this returns. */
    void force() {
        try {
            durability.force(file, channel, false);
        } catch (IOException e) {
            throw StateErrors.io(file, "cannot force the undo log", e);
        }
    }

    /** Drops every record (after a checkpoint committed: they belong to an older epoch now). */
    void reset() {
        try {
            channel.truncate(HEADER_BYTES);
        } catch (IOException e) {
            throw StateErrors.io(file, "cannot truncate the undo log", e);
        }
        end = HEADER_BYTES;
    }

    /** Bytes in the log, header included. */
    long size() {
        return end;
    }

    @Override
    public void close() {
        close(channel);
    }
}
