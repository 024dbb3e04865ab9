package io.embstore.store;

import io.embstore.store.io.Murmur3;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The vocabulary: word records, the row to record offsets, and the open-addressing hash index word to row. All three
 * are mapped files; a lookup hashes the word's UTF-8 bytes and compares bytes in place, so opening a store builds
 * nothing on the heap that grows with the vocabulary.
 *
 * <p>{@code vocab.words}: records one after another, in no particular order, each
 * <pre>
 *  +-----------+-----------+---------------------+
 *  | row int32 | len int32 | len bytes of UTF-8  |   (little-endian, unaligned)
 *  +-----------+-----------+---------------------+
 * </pre>
 * {@code vocab.offsets}: one little-endian int64 per row, the offset of that row's record in {@code vocab.words}.
 *
 * <p>{@code vocab.index}:
 * <pre>
 *  0        8        12       16       24       32            64
 *  +--------+--------+--------+--------+--------+-- reserved --+------------------------------+
 *  | magic  |version |reserved| slots  | epoch  |              | slots x int64 (linear probing)|
 *  +--------+--------+--------+--------+--------+--------------+------------------------------+
 *  slot = fingerprint (bits 63..40) | record offset + 1 (bits 39..0); 0 = empty
 * </pre>
 * The hash of a word is FNV-1a 64 over its UTF-8 bytes followed by the MurmurHash3 fmix64 finaliser; the slot is its
 * low bits, the fingerprint its top 24 bits. The load factor stays at or below 1/2; past that the writer builds a
 * table twice the size in a temporary file, renames it over {@code vocab.index} and bumps {@code index_epoch}.
 *
 * <p>Ordering: the writer writes the record and the row's offset, then release-writes the slot; {@link #lookup}
 * acquire-reads slots, so a slot it sees always points at a complete record.
 */
final class VocabularyIndex {
    static final String WORDS_FILE = "vocab.words";
    static final String OFFSETS_FILE = "vocab.offsets";
    static final String INDEX_FILE = "vocab.index";

    /** "EMBSIDX1" as a little-endian long. */
    static final long MAGIC = 0x3158444953424d45L;
    static final int VERSION = 1;
    static final long MAGIC_OFFSET = 0;
    static final long VERSION_OFFSET = 8;
    static final long SLOTS_OFFSET = 16;
    static final long EPOCH_OFFSET = 24;
    /** Slots start here. */
    static final long HEADER_BYTES = 64;
    /** Bytes of a record before the word: row and length. */
    static final int RECORD_HEADER_BYTES = 8;
    /** Longest word in bytes. */
    static final int MAX_WORD_BYTES = 1 << 16;
    static final int FINGERPRINT_SHIFT = 40;
    static final long OFFSET_MASK = (1L << FINGERPRINT_SHIFT) - 1;

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG_U = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_U = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SLOT = LONG.varHandle();

    private final MemorySegment index;
    private final long mask;
    private final long epoch;
    private final Path file;

    private VocabularyIndex(MemorySegment index, long slots, long epoch, Path file) {
        this.index = index;
        this.mask = slots - 1;
        this.epoch = epoch;
        this.file = file;
    }

    /** Bytes of an index file with {@code slots} slots. */
    static long fileBytes(long slots) {
        return HEADER_BYTES + slots * Long.BYTES;
    }

    /** Slots for a vocabulary of {@code words}: the next power of two at or above twice the count, at least 16. */
    static long slotsFor(long words) {
        long want = Math.max(16, words * 2);
        return Long.highestOneBit(want - 1) << 1;
    }

    /** Writes the header of an empty index into a zeroed segment. */
    static VocabularyIndex initialize(MemorySegment seg, long slots, long epoch, Path file) {
        seg.set(LONG, MAGIC_OFFSET, MAGIC);
        seg.set(INT, VERSION_OFFSET, VERSION);
        seg.set(LONG, SLOTS_OFFSET, slots);
        seg.set(LONG, EPOCH_OFFSET, epoch);
        return new VocabularyIndex(seg, slots, epoch, file);
    }

    /** Checks the header of a mapped index and that the file holds all its slots. */
    static VocabularyIndex attach(MemorySegment seg, Path file) {
        if (seg.byteSize() < HEADER_BYTES) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "truncated index: " + seg.byteSize() + " bytes, the header alone is " + HEADER_BYTES);
        }
        if (seg.get(LONG, MAGIC_OFFSET) != MAGIC) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "bad index magic, expected \"EMBSIDX1\"");
        }
        int version = seg.get(INT, VERSION_OFFSET);
        if (version != VERSION) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "index version " + version + " is not supported, expected " + VERSION);
        }
        long slots = seg.get(LONG, SLOTS_OFFSET);
        if (slots < 16 || Long.bitCount(slots) != 1 || slots > (1L << 40)) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "slot count must be a power of 2 in [16, 2^40]: slots=" + slots);
        }
        if (seg.byteSize() < fileBytes(slots)) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "truncated index: " + seg.byteSize() + " bytes, expected " + fileBytes(slots)
                    + " for " + slots + " slots");
        }
        return new VocabularyIndex(seg.asSlice(0, fileBytes(slots)), slots, seg.get(LONG, EPOCH_OFFSET), file);
    }

    long slots() {
        return mask + 1;
    }

    long epoch() {
        return epoch;
    }

    MemorySegment segment() {
        return index;
    }

    static long hash(byte[] utf8) {
        long h = 0xcbf29ce484222325L;
        for (byte b : utf8) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return Murmur3.fmix64(h);
    }

    static long hash(MemorySegment words, long from, int len) {
        long h = 0xcbf29ce484222325L;
        for (long i = from, end = from + len; i < end; i++) {
            h = (h ^ (words.get(ValueLayout.JAVA_BYTE, i) & 0xff)) * 0x100000001b3L;
        }
        return Murmur3.fmix64(h);
    }

    /**
     * The row of {@code utf8}, or -1 when it is absent or not yet visible.
     *
     * @param words        the mapped {@code vocab.words}
     * @param visibleBytes bytes of {@code vocab.words} this caller has seen published
     * @param visibleRows  rows this caller has seen published
     */
    long lookup(byte[] utf8, MemorySegment words, long visibleBytes, long visibleRows, Path wordsFile) {
        return lookup(utf8, hash(utf8), words, visibleBytes, visibleRows, wordsFile);
    }

    /** Brings the home slot of hash {@code h} into the cache (and its page into the mapping); returns the slot. */
    long touchSlot(long h) {
        return index.get(LONG, HEADER_BYTES + (h & mask) * Long.BYTES);
    }

    /**
     * The rows of {@code utf8Words[0, count)} into {@code rows}, -1 for a word not found, looked up in blocks of 16
     * whose slots and records are {@link #touch}ed first: what {@code EmbeddingStore.rowsOf} gives a tokenizer.
     */
    void lookupAll(String[] utf8Words, int count, long[] rows, MemorySegment words, long visibleBytes, long visibleRows,
                   Path wordsFile) {
        final int block = 16;
        byte[][] utf8 = new byte[block][];
        long[] hashes = new long[block];
        long sink = 0;
        for (int base = 0; base < count; base += block) {
            int n = Math.min(block, count - base);
            for (int j = 0; j < n; j++) {
                utf8[j] = utf8Words[base + j].getBytes(StandardCharsets.UTF_8);
                hashes[j] = hash(utf8[j]);
            }
            for (int j = 0; j < n; j++) {
                sink ^= touch(hashes[j], words, visibleBytes);
            }
            for (int j = 0; j < n; j++) {
                rows[base + j] = lookup(utf8[j], hashes[j], words, visibleBytes, visibleRows, wordsFile);
            }
        }
        touched = sink;
    }

    /** Keeps {@link #lookupAll}'s cache-warming reads alive: a compiler may drop a load whose value is never used. */
    @SuppressWarnings("unused")
    private volatile long touched;

    /**
     * Brings the home slot of hash {@code h} and the record it points to into the cache, and returns the slot. Called
     * for a whole batch of words before any of them is looked up, so that the batch's cache misses overlap instead of
     * each lookup waiting for its own two in turn (a slot, then its record).
     */
    long touch(long h, MemorySegment words, long visibleBytes) {
        long slot = (long) SLOT.getAcquire(index, HEADER_BYTES + (h & mask) * Long.BYTES);
        long record = (slot & OFFSET_MASK) - 1;
        if (slot != 0 && record >= 0 && record <= visibleBytes - RECORD_HEADER_BYTES) {
            // The record's length: returned mixed into the result so the load is not dead code.
            return slot ^ words.get(INT_U, record + 4);
        }
        return slot;
    }

    /** {@link #lookup(byte[], MemorySegment, long, long, Path)} with the word's hash already computed. */
    long lookup(byte[] utf8, long h, MemorySegment words, long visibleBytes, long visibleRows, Path wordsFile) {
        long fingerprint = h >>> FINGERPRINT_SHIFT;
        long i = h & mask;
        for (long probes = 0; probes <= mask; probes++) {
            long slot = (long) SLOT.getAcquire(index, HEADER_BYTES + i * Long.BYTES);
            if (slot == 0) {
                return -1;
            }
            if (slot >>> FINGERPRINT_SHIFT == fingerprint) {
                long record = (slot & OFFSET_MASK) - 1;
                if (record < 0) {
                    // insert() always stores record + 1 >= 1; read as offset -1, such a slot led to a read before the file.
                    throw new StoreException(StoreException.Kind.CORRUPT, file,
                            "index slot " + i + " holds a fingerprint but no record offset");
                }
                if (record + RECORD_HEADER_BYTES > words.byteSize() && record + RECORD_HEADER_BYTES > fileSize(wordsFile)) {
                    // Past this caller's mapping is normal for a word appended since its last refresh (the file grew);
                    // past the file itself is damage. The stat runs only on this rare path.
                    throw new StoreException(StoreException.Kind.CORRUPT, file,
                            "index slot " + i + " points to record offset " + record + " outside "
                            + wordsFile.getFileName() + " (" + fileSize(wordsFile) + " bytes)");
                }
                // A record past what this caller has seen published is a word appended since its last refresh, or
                // one a writer was appending when it died: not a match, but the probe goes on.
                int len = record + RECORD_HEADER_BYTES <= visibleBytes ? words.get(INT_U, record + 4) : -1;
                if (len == utf8.length) {
                    checkRecordBounds(record, len, words, wordsFile);
                    if (MemorySegment.mismatch(words, record + RECORD_HEADER_BYTES, record + RECORD_HEADER_BYTES + len,
                            MemorySegment.ofArray(utf8), 0, len) == -1) {
                        long row = words.get(INT_U, record) & 0xffffffffL;
                        return row < visibleRows ? row : -1;
                    }
                }
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    private static long fileSize(Path file) {
        try {
            return java.nio.file.Files.size(file);
        } catch (java.io.IOException e) {
            throw new StoreException(StoreException.Kind.IO, file, "cannot read the file's size", e);
        }
    }

    private static void checkRecordBounds(long record, int len, MemorySegment words, Path wordsFile) {
        if (len < 0 || len > MAX_WORD_BYTES || record + RECORD_HEADER_BYTES + len > words.byteSize()) {
            throw new StoreException(StoreException.Kind.CORRUPT, wordsFile,
                    "word record at offset " + record + " has length " + len
                    + " which runs past the end of the file (" + words.byteSize() + " bytes)");
        }
    }

    /** Publishes the record at {@code record} (already written) under its word's hash. The caller is the writer. */
    void insert(MemorySegment words, long record) {
        int len = words.get(INT_U, record + 4);
        long h = hash(words, record + RECORD_HEADER_BYTES, len);
        long i = h & mask;
        long value = (h >>> FINGERPRINT_SHIFT) << FINGERPRINT_SHIFT | (record + 1);
        for (long probes = 0; probes <= mask; probes++) {
            long at = HEADER_BYTES + i * Long.BYTES;
            if (index.get(LONG, at) == 0) {
                SLOT.setRelease(index, at, value);
                return;
            }
            i = (i + 1) & mask;
        }
        throw new IllegalStateException("vocabulary index is full: " + slots() + " slots");
    }

    /**
     * Inserts the record at {@code record} unless a record with the same word is already indexed; then returns that
     * record's row and inserts nothing. Returns -1 when it inserted. The caller is the only writer.
     */
    long insertIfAbsent(MemorySegment words, long record) {
        int len = words.get(INT_U, record + 4);
        return insertIfAbsent(words, record, hash(words, record + RECORD_HEADER_BYTES, len));
    }

    /** {@link #insertIfAbsent(MemorySegment, long)} with the word's hash already computed. */
    long insertIfAbsent(MemorySegment words, long record, long h) {
        int len = words.get(INT_U, record + 4);
        long from = record + RECORD_HEADER_BYTES;
        long fingerprint = h >>> FINGERPRINT_SHIFT;
        long i = h & mask;
        for (long probes = 0; probes <= mask; probes++) {
            long at = HEADER_BYTES + i * Long.BYTES;
            long slot = index.get(LONG, at);
            if (slot == 0) {
                SLOT.setRelease(index, at, fingerprint << FINGERPRINT_SHIFT | (record + 1));
                return -1;
            }
            if (slot >>> FINGERPRINT_SHIFT == fingerprint) {
                long other = (slot & OFFSET_MASK) - 1;
                if (words.get(INT_U, other + 4) == len && MemorySegment.mismatch(words, other + RECORD_HEADER_BYTES,
                        other + RECORD_HEADER_BYTES + len, words, from, from + len) == -1) {
                    return words.get(INT_U, other) & 0xffffffffL;
                }
            }
            i = (i + 1) & mask;
        }
        throw new IllegalStateException("vocabulary index is full: " + slots() + " slots");
    }

    /** Reads the word of the record at {@code record}, checking it against the row it should belong to. */
    static String word(MemorySegment words, long record, long visibleBytes, long expectedRow, Path wordsFile) {
        // Not record + RECORD_HEADER_BYTES > visibleBytes: a damaged offset near Long.MAX_VALUE would overflow past the check.
        if (record < 0 || record > visibleBytes - RECORD_HEADER_BYTES) {
            throw new StoreException(StoreException.Kind.CORRUPT, wordsFile,
                    "row " + expectedRow + " points to record offset " + record
                    + " outside the " + visibleBytes + " bytes in use");
        }
        int len = words.get(INT_U, record + 4);
        if (len < 0 || len > MAX_WORD_BYTES || record + RECORD_HEADER_BYTES + len > visibleBytes) {
            throw new StoreException(StoreException.Kind.CORRUPT, wordsFile,
                    "word record at offset " + record + " has length " + len
                    + " which runs past the " + visibleBytes + " bytes in use");
        }
        long row = words.get(INT_U, record) & 0xffffffffL;
        if (row != expectedRow) {
            throw new StoreException(StoreException.Kind.CORRUPT, wordsFile,
                    "word record at offset " + record + " belongs to row " + row
                    + ", expected row " + expectedRow);
        }
        byte[] bytes = words.asSlice(record + RECORD_HEADER_BYTES, len).toArray(ValueLayout.JAVA_BYTE);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Writes a record at {@code at} and returns the offset just past it. */
    static long writeRecord(MemorySegment words, long at, long row, byte[] utf8) {
        words.set(INT_U, at, (int) row);
        words.set(INT_U, at + 4, utf8.length);
        MemorySegment.copy(utf8, 0, words, ValueLayout.JAVA_BYTE, at + RECORD_HEADER_BYTES, utf8.length);
        return at + RECORD_HEADER_BYTES + utf8.length;
    }

    /** Bytes a record for {@code utf8} takes. */
    static long recordBytes(byte[] utf8) {
        return RECORD_HEADER_BYTES + (long) utf8.length;
    }

    /** Encodes a word, rejecting ones the format cannot hold. */
    static byte[] encode(String word) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > MAX_WORD_BYTES) {
            throw new IllegalArgumentException("word is " + utf8.length + " bytes of UTF-8, at most " + MAX_WORD_BYTES
                    + " are allowed: " + word.substring(0, 40) + "...");
        }
        return utf8;
    }
}
