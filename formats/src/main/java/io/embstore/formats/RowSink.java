package io.embstore.formats;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Draft;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * Puts parsed rows into a {@link Draft}: the vector, and the word after checking or re-encoding it.
 * One per thread for parallel readers (rows are distinct); streaming readers also let it grow the draft.
 */
final class RowSink {
    private final Draft draft;
    private final ConvertOptions.WordEncoding encoding;
    /** Word capacity this sink reserved (streaming readers only). */
    private long wordCapacity;

    RowSink(Draft draft, ConvertOptions.WordEncoding encoding) {
        this.draft = draft;
        this.encoding = encoding;
    }

    /** Bytes of word records a body of {@code bytes} input bytes with {@code rows} rows can need at most. */
    static long wordCapacityBound(long bytes, long rows, ConvertOptions.WordEncoding encoding) {
        // Latin-1 re-encoded doubles at most; a replaced invalid byte becomes the 3-byte U+FFFD.
        long factor = switch (encoding) {
            case UTF8 -> 1;
            case LATIN1 -> 2;
            case REPLACE -> 3;
        };
        return factor * bytes + 8 * rows + 8;
    }

    /** Grows the draft, single-threaded, so that row {@code row} with a word of up to {@code wordBytes} fits. */
    void ensureRoom(long row, long wordBytes) {
        if (row >= draft.capacity()) {
            draft.ensureCapacity(Math.min(EmbeddingStore.MAX_ROWS, Math.max(row + 1, Math.max(1024, draft.capacity() * 3 / 2))));
        }
        if (draft.hasVocabulary()) {
            long needed = draft.wordBytes() + 8 + 3 * wordBytes;
            if (needed > wordCapacity) {
                wordCapacity = Math.max(needed, Math.max(1 << 20, wordCapacity * 2));
                draft.ensureWordCapacity(wordCapacity);
            }
        }
    }

    /**
     * Puts row {@code row}: {@code values} and the word {@code buf[wordFrom, wordTo)}.
     *
     * @throws LineParser.MalformedLine if the word is not valid UTF-8 under the strict encoding, or the values are not
     *                                   ones the store's dtype can hold
     */
    void put(long row, float[] values, byte[] buf, int wordFrom, int wordTo) throws LineParser.MalformedLine {
        try {
            draft.putRow(row, values, 0);
        } catch (IllegalArgumentException e) {
            // A row the quantized dtype cannot hold (too wide a range for q4's binary16 scale): the line's fault.
            throw new LineParser.MalformedLine(e.getMessage());
        }
        switch (encoding) {
            case UTF8 -> {
                int bad = Utf8Check.firstInvalid(buf, wordFrom, wordTo);
                if (bad >= 0) {
                    throw new LineParser.MalformedLine("the word is not valid UTF-8 (byte 0x"
                            + Integer.toHexString(buf[bad] & 0xff) + " at byte " + (bad - wordFrom + 1)
                            + " of the word): use --encoding replace or --encoding latin1");
                }
                draft.putWord(row, MemorySegment.ofArray(buf).asSlice(wordFrom, wordTo - wordFrom));
            }
            case REPLACE -> draft.putWord(row, MemorySegment.ofArray(
                    new String(buf, wordFrom, wordTo - wordFrom, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8)));
            case LATIN1 -> draft.putWord(row, MemorySegment.ofArray(
                    new String(buf, wordFrom, wordTo - wordFrom, StandardCharsets.ISO_8859_1).getBytes(StandardCharsets.UTF_8)));
        }
    }
}
