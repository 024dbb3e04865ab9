package io.embstore.store;

import io.embstore.store.io.DurableFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
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
 * wolf. {@link #FILES} lists what is covered (those present: the vocabulary files and {@code norms.f32} are optional);
 * {@code control.bin}, {@code rows.seq} and {@code writer.lock} change under readers by design and are left out.
 */
final class StoreChecksums {
    static final String FILE = "checksums.txt";
    static final String MAGIC = "embstore-checksums";
    static final List<String> FILES = List.of(Manifest.FILE, EmbeddingStore.MATRIX_FILE, VocabularyIndex.WORDS_FILE,
            VocabularyIndex.OFFSETS_FILE, VocabularyIndex.INDEX_FILE, RowNorms.FILE);

    /** Size and CRC-32C of one file. */
    record Entry(long size, long crc) {
    }

    private StoreChecksums() {
    }

    /** The reflected Castagnoli polynomial of CRC-32C. */
    private static final int POLY = 0x82f63b78;
    /** {@code X2N[k]} is x^(2^k) modulo the polynomial, in the reflected representation (bit 31 is x^0). */
    private static final int[] X2N = new int[3 + 64];
    /** Bytes per piece of a parallel checksum: big enough that a thread's start-up is noise, small enough to balance. */
    private static final long PIECE_BYTES = 16L << 20;

    static {
        X2N[0] = 1 << 30;
        for (int k = 1; k < X2N.length; k++) {
            X2N[k] = multiplyModP(X2N[k - 1], X2N[k - 1]);
        }
    }

    /** The product of two polynomials modulo the CRC polynomial, both reflected (bit 31 is x^0). */
    private static int multiplyModP(int a, int b) {
        int product = 0;
        for (int m = 1 << 31; m != 0 && a != 0; m >>>= 1) {
            if ((a & m) != 0) {
                product ^= b;
                a ^= m;
            }
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
        return product;
    }

    /**
     * The CRC-32C of {@code A} followed by {@code B}, from the CRC-32C of each and B's length. CRC-32C is linear over
     * GF(2): appending {@code lengthB} bytes multiplies A's remainder by x^(8 * lengthB) (the pre- and
     * post-inversions cancel out in the sum), so pieces of one file can be summed on different threads.
     */
    static int combine(int crcA, int crcB, long lengthB) {
        // x^(8 * lengthB): the product of x^(2^k) over the bits k of 8 * lengthB.
        int shift = 1 << 31;
        long n = lengthB;
        for (int k = 3; n != 0; n >>>= 1, k++) {
            if ((n & 1) != 0) {
                shift = multiplyModP(X2N[k], shift);
            }
        }
        return multiplyModP(shift, crcA) ^ crcB;
    }

    /** CRC-32C of {@code seg[from, to)} on this thread; byte buffers hold at most 2 GB, so longer ranges go in parts. */
    private static int crcOf(MemorySegment seg, long from, long to) {
        CRC32C crc = new CRC32C();
        for (long at = from; at < to; ) {
            long n = Math.min(to - at, 1L << 30);
            crc.update(seg.asSlice(at, n).asByteBuffer());
            at += n;
        }
        return (int) crc.getValue();
    }

    /**
     * CRC-32C of a whole (mapped) segment, its pieces on every core (the common fork-join pool and this thread) and
     * then combined: for the store's files, which the commit has just written and which are in the page cache.
     */
    static Entry compute(MemorySegment seg) {
        long size = seg.byteSize();
        int pieces = (int) Math.max(1, Math.min(4096, (size + PIECE_BYTES - 1) / PIECE_BYTES));
        int[] crcs = new int[pieces];
        long pieceBytes = (size + pieces - 1) / pieces;
        java.util.stream.IntStream.range(0, pieces).parallel().forEach(p ->
                crcs[p] = crcOf(seg, Math.min(size, p * pieceBytes), Math.min(size, (p + 1) * pieceBytes)));
        int crc = crcs[0];
        for (int p = 1; p < pieces; p++) {
            crc = combine(crc, crcs[p], Math.min(size, (p + 1) * pieceBytes) - Math.min(size, p * pieceBytes));
        }
        return new Entry(size, crc & 0xffffffffL);
    }

    /** Writes {@code entries} (file name to size and CRC) as {@code dir/checksums.txt}, durably, in {@link #FILES} order. */
    static void write(Path dir, Map<String, Entry> entries) throws IOException {
        StringBuilder text = new StringBuilder(MAGIC).append('\n');
        for (String name : FILES) {
            Entry e = entries.get(name);
            if (e != null) {
                text.append(name).append(' ').append(e.size()).append(' ').append(String.format("%08x", e.crc())).append('\n');
            }
        }
        DurableFiles.replace(dir.resolve(FILE), text.toString());
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
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (String name : FILES) {
            Path file = dir.resolve(name);
            if (Files.exists(file)) {
                entries.put(name, compute(file));
            }
        }
        write(dir, entries);
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
            throw new StoreException(StoreException.Kind.IO, file, "cannot read the checksums", e);
        }
        String[] lines = text.split("\n");
        if (!lines[0].equals(MAGIC)) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "line 1 must be '" + MAGIC + "'");
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
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        "line " + (i + 1) + ": expected 'file size crc32c', found '" + lines[i] + "'");
            }
        }
        return entries;
    }

    static void delete(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(FILE));
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, dir.resolve(FILE), "cannot delete the stale checksums", e);
        }
    }
}
