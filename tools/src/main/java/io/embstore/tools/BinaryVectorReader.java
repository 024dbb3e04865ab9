package io.embstore.tools;

import io.embstore.store.EmbeddingStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Reads word2vec binary (GoogleNews layout) from a mapped file: after the {@code rows dim} header line, per row the
 * word, one space, {@code dim} little-endian float32 values and an optional newline. Errors name the byte offset.
 */
final class BinaryVectorReader {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment seg;
    private final long bodyStart;
    private final long end;
    private final int dim;
    private final long declaredRows;
    private final ConvertOptions options;

    BinaryVectorReader(Path file, MemorySegment seg, long bodyStart, long end, int dim, long declaredRows,
                       ConvertOptions options) {
        this.file = file;
        this.seg = seg;
        this.bodyStart = bodyStart;
        this.end = end;
        this.dim = dim;
        this.declaredRows = declaredRows;
        this.options = options;
    }

    /**
     * Checks a binary header against the bytes that follow it, before anything is allocated from it: each row needs
     * at least a one-byte word, a space and {@code dim * 4} bytes.
     */
    static void checkHeaderFits(Path file, long rows, long dim, long bodyBytes) {
        long perRow = 2 + 4 * dim;
        if (rows > 0 && (rows > Long.MAX_VALUE / perRow || rows * perRow > bodyBytes)) {
            throw InputException.atLine(file, 1, "the header declares " + rows + " rows of " + dim
                    + " float32 values, which needs at least " + (rows > Long.MAX_VALUE / perRow ? "more than 2^63" : rows * perRow)
                    + " bytes after it, but the file has " + bodyBytes);
        }
    }

    long read(EmbeddingStore.Draft draft) {
        long rows = options.limit() >= 0 ? Math.min(options.limit(), declaredRows) : declaredRows;
        draft.ensureCapacity(rows);
        draft.ensureWordCapacity(RowSink.wordCapacityBound(end - bodyStart, rows, options.encoding()));
        RowSink sink = new RowSink(draft, options.encoding());
        float[] values = new float[dim];
        byte[] word = new byte[VocabularyLimits.MAX_WORD_BYTES];
        long vectorBytes = 4L * dim;
        long pos = bodyStart;
        long reported = pos;
        for (long row = 0; row < rows; row++) {
            pos = skipNewlines(pos);
            if (pos >= end) {
                throw InputException.atOffset(file, pos, "the header declares " + declaredRows + " rows, but the file ends after "
                        + row);
            }
            long space = TextScan.indexOf(seg, pos, Math.min(end, pos + VocabularyLimits.MAX_WORD_BYTES + 1), (byte) ' ');
            if (space < 0) {
                throw InputException.atOffset(file, pos, "row " + (row + 1) + ": expected a word ending in a space, "
                        + (end - pos <= VocabularyLimits.MAX_WORD_BYTES ? "but the file ends" : "found none in "
                        + VocabularyLimits.MAX_WORD_BYTES + " bytes"));
            }
            if (space == pos) {
                throw InputException.atOffset(file, pos, "row " + (row + 1) + ": the word is empty");
            }
            long vector = space + 1;
            if (vector + vectorBytes > end) {
                throw InputException.atOffset(file, vector, "row " + (row + 1) + ": expected " + dim + " float32 values ("
                        + vectorBytes + " bytes), but the file ends after " + (end - vector));
            }
            MemorySegment.copy(seg, F32_LE, vector, values, 0, dim);
            if (!options.allowNonFinite()) {
                for (int i = 0; i < dim; i++) {
                    if (!Float.isFinite(values[i])) {
                        throw InputException.atOffset(file, vector + 4L * i, "row " + (row + 1) + ", value " + (i + 1) + " is "
                                + values[i] + ": use --allow-nonfinite to keep such values");
                    }
                }
            }
            try {
                int wordLength = (int) (space - pos);
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, word, 0, wordLength);
                sink.put(row, values, word, 0, wordLength);
            } catch (LineParser.MalformedLine e) {
                throw InputException.atOffset(file, pos, "row " + (row + 1) + ": " + e.getMessage());
            }
            pos = vector + vectorBytes;
            if ((row & 4095) == 4095) {
                options.progress().advance(pos - reported, 4096);
                reported = pos;
            }
        }
        if (options.limit() < 0) {
            long rest = skipWhitespace(pos);
            if (rest < end) {
                throw InputException.atOffset(file, rest, "the header declares " + declaredRows
                        + " rows, but more data follows the last of them");
            }
        }
        options.progress().advance(end - reported, rows & 4095);
        return rows;
    }

    private long skipNewlines(long pos) {
        while (pos < end && seg.get(ValueLayout.JAVA_BYTE, pos) == '\n') {
            pos++;
        }
        return pos;
    }

    private long skipWhitespace(long pos) {
        while (pos < end) {
            byte c = seg.get(ValueLayout.JAVA_BYTE, pos);
            if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
                break;
            }
            pos++;
        }
        return pos;
    }
}
