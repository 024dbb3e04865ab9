package io.embstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * {@code checksums.txt}: the size and CRC-32C of every data file, recorded when a store is created (and on request),
 * so that {@code verify} can tell a damaged file from an intact one.
 *
 * <pre>
 * embstore-checksums
 * matrix.npy 4800004096 1a2b3c4d
 * vocab.words 5234567 0badf00d
 * ...
 * </pre>
 *
 * A writer may change any file, so opening a store for writing deletes the record: stale checksums would only cry
 * wolf. {@link #FILES} lists what is covered; {@code control.bin}, {@code rows.seq} and {@code writer.lock} change
 * under readers by design and are left out.
 */
final class StoreChecksums {
    static final String FILE = "checksums.txt";
    static final String MAGIC = "embstore-checksums";
    static final List<String> FILES = List.of(Manifest.FILE, EmbeddingStore.MATRIX_FILE, VocabularyIndex.WORDS_FILE,
            VocabularyIndex.OFFSETS_FILE, VocabularyIndex.INDEX_FILE);

    /** Size and CRC-32C of one file. */
    record Entry(long size, long crc) {
    }

    private StoreChecksums() {
    }

    static Entry compute(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long size = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) > 0) {
                buf.flip();
                size += buf.remaining();
                crc.update(buf);
            }
        }
        return new Entry(size, crc.getValue());
    }

    /** Computes the checksums of the covered files that exist in {@code dir} and writes them durably. */
    static void record(Path dir) throws IOException {
        StringBuilder text = new StringBuilder(MAGIC).append('\n');
        for (String name : FILES) {
            Path file = dir.resolve(name);
            if (Files.exists(file)) {
                Entry e = compute(file);
                text.append(name).append(' ').append(e.size()).append(' ').append(String.format("%08x", e.crc())).append('\n');
            }
        }
        EmbeddingStore.writeFileDurably(dir.resolve(FILE), text.toString());
    }

    /** The recorded checksums, or null when the store has none. */
    static Map<String, Entry> read(Path dir) {
        Path file = dir.resolve(FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new StoreException(file, "cannot read the checksums", e);
        }
        String[] lines = text.split("\n");
        if (!lines[0].equals(MAGIC)) {
            throw new StoreException(file, "line 1 must be '" + MAGIC + "'");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split(" ");
            try {
                if (f.length != 3) {
                    throw new NumberFormatException();
                }
                entries.put(f[0], new Entry(Long.parseLong(f[1]), Long.parseLong(f[2], 16)));
            } catch (NumberFormatException e) {
                throw new StoreException(file, "line " + (i + 1) + ": expected 'file size crc32c', found '" + lines[i] + "'");
            }
        }
        return entries;
    }

    static void delete(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(FILE));
        } catch (IOException e) {
            throw new StoreException(dir.resolve(FILE), "cannot delete the stale checksums", e);
        }
    }
}
