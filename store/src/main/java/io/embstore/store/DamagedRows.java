package io.embstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

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

    private DamagedRows() {
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
            throw new StoreException(file, "cannot read the list of damaged rows", e);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < ROWS_OFFSET || b.getLong(MAGIC_OFFSET) != MAGIC) {
            throw new StoreException(file, "not a list of damaged rows: bad magic, expected \"EMBSDMG1\"");
        }
        int version = b.getInt(VERSION_OFFSET);
        if (version != VERSION) {
            throw new StoreException(file, "version " + version + " is not supported, expected " + VERSION);
        }
        long count = b.getLong(COUNT_OFFSET);
        if (count < 0 || count != (bytes.length - ROWS_OFFSET) / Long.BYTES || (bytes.length - ROWS_OFFSET) % Long.BYTES != 0) {
            throw new StoreException(file, "count " + count + " does not match the file's " + bytes.length + " bytes");
        }
        long[] rows = new long[(int) count];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = b.getLong(ROWS_OFFSET + i * Long.BYTES);
            if (rows[i] < 0 || (i > 0 && rows[i] <= rows[i - 1])) {
                throw new StoreException(file, "row " + rows[i] + " at entry " + i + " is negative or out of order");
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
                EmbeddingStore.forceDirectory(dir);
            }
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(ROWS_OFFSET + rows.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC_OFFSET, MAGIC).putInt(VERSION_OFFSET, VERSION).putLong(COUNT_OFFSET, rows.length);
        for (int i = 0; i < rows.length; i++) {
            b.putLong(ROWS_OFFSET + i * Long.BYTES, rows[i]);
        }
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        EmbeddingStore.forceDirectory(dir);
    }
}
