package io.embstore.formats;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Draft;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * Reads gzip-compressed text or binary vector files as a stream, one thread, in bounded memory. A header can only be
 * checked as the rows arrive, so the draft grows with them instead of being sized from the header.
 */
final class StreamingVectorReader {
    /** Longest text line this reader accepts: a bound on the window a line must fit in. */
    static final int MAX_LINE_BYTES = 64 << 20;

    private final Path file;
    private final StreamWindow window;
    private final ConvertOptions options;

    StreamingVectorReader(Path file, StreamWindow window, ConvertOptions options) {
        this.file = file;
        this.window = window;
        this.options = options;
    }

    long readText(Draft draft, int dim, long declaredRows, long firstLine) {
        LineParser parser = new LineParser(dim, options.allowNonFinite());
        RowSink sink = new RowSink(draft, options.encoding());
        long wanted = wanted(declaredRows);
        long row = 0;
        long line = firstLine;
        long reported = window.inputOffset(window.pos());
        while (row < wanted && !window.atEnd()) {
            long nl = window.find((byte) '\n', MAX_LINE_BYTES);
            int start = window.pos();
            if (nl < 0 && window.limit() - start >= MAX_LINE_BYTES) {
                throw InputException.atLine(file, line, "the line is longer than " + MAX_LINE_BYTES + " bytes");
            }
            int lineEnd = (int) (nl < 0 ? window.limit() : nl);
            byte[] buf = window.buffer();
            int contentEnd = LineParser.trimEnd(buf, start, lineEnd);
            if (contentEnd > start) {
                if (declaredRows >= 0 && row >= declaredRows) {
                    throw InputException.atLine(file, line, "the header declares " + declaredRows + " rows, but this line is row "
                            + (row + 1));
                }
                try {
                    int wordEnd = parser.parse(buf, start, contentEnd);
                    sink.ensureRoom(row, wordEnd - start);
                    sink.put(row, parser.values(), buf, start, wordEnd);
                } catch (LineParser.MalformedLine e) {
                    throw InputException.atLine(file, line, e.getMessage());
                }
                row++;
                if ((row & 4095) == 0) {
                    long at = window.inputOffset(lineEnd);
                    options.progress().advance(at - reported, 4096);
                    reported = at;
                }
            }
            window.advanceTo(nl < 0 ? lineEnd : (int) nl + 1);
            line++;
        }
        if (options.limit() < 0 && declaredRows >= 0 && row == declaredRows) {
            // Trailing blank lines are fine; another row is not.
            while (!window.atEnd()) {
                long nl = window.find((byte) '\n', MAX_LINE_BYTES);
                int start = window.pos();
                int lineEnd = (int) (nl < 0 ? window.limit() : nl);
                if (LineParser.trimEnd(window.buffer(), start, lineEnd) > start) {
                    throw InputException.atLine(file, line, "the header declares " + declaredRows
                            + " rows, but this line is row " + (row + 1));
                }
                window.advanceTo(nl < 0 ? lineEnd : (int) nl + 1);
                line++;
            }
        }
        checkEnoughRows(row, wanted, declaredRows, "line " + Math.max(firstLine, line - 1));
        options.progress().advance(window.inputOffset(window.pos()) - reported, row & 4095);
        return row;
    }

    long readBinary(Draft draft, int dim, long declaredRows) {
        RowSink sink = new RowSink(draft, options.encoding());
        float[] values = new float[dim];
        int vectorBytes = 4 * dim;
        long wanted = wanted(declaredRows);
        long reported = window.inputOffset(window.pos());
        long row = 0;
        for (; row < wanted; row++) {
            while (window.fill(1) && window.segment().get(ValueLayout.JAVA_BYTE, window.pos()) == '\n') {
                window.advanceTo(window.pos() + 1);
            }
            if (!window.fill(1)) {
                break;
            }
            long space = window.find((byte) ' ', EmbeddingStore.MAX_WORD_BYTES + 1);
            long wordStartOffset = window.inputOffset(window.pos());
            if (space < 0) {
                throw InputException.atOffset(file, wordStartOffset, "row " + (row + 1)
                        + ": expected a word ending in a space, but the file ends or the word is too long");
            }
            int wordLen = (int) (space - window.pos());
            if (wordLen == 0) {
                throw InputException.atOffset(file, wordStartOffset, "row " + (row + 1) + ": the word is empty");
            }
            if (!window.fill(wordLen + 1 + vectorBytes)) {
                throw InputException.atOffset(file, wordStartOffset + wordLen + 1, "row " + (row + 1) + ": expected " + dim
                        + " float32 values (" + vectorBytes + " bytes), but the file ends after "
                        + (window.limit() - window.pos() - wordLen - 1));
            }
            int start = window.pos();
            MemorySegment seg = window.segment();
            MemorySegment.copy(seg, BinaryVectorReader.F32_LE, start + wordLen + 1, values, 0, dim);
            if (!options.allowNonFinite()) {
                for (int i = 0; i < dim; i++) {
                    if (!Float.isFinite(values[i])) {
                        throw InputException.atOffset(file, wordStartOffset + wordLen + 1 + 4L * i, "row " + (row + 1)
                                + ", value " + (i + 1) + " is " + values[i] + ": use --allow-nonfinite to keep such values");
                    }
                }
            }
            try {
                sink.ensureRoom(row, wordLen);
                sink.put(row, values, window.buffer(), start, start + wordLen);
            } catch (LineParser.MalformedLine e) {
                throw InputException.atOffset(file, wordStartOffset, "row " + (row + 1) + ": " + e.getMessage());
            }
            window.advanceTo(start + wordLen + 1 + vectorBytes);
            if ((row & 4095) == 4095) {
                long at = window.inputOffset(window.pos());
                options.progress().advance(at - reported, 4096);
                reported = at;
            }
        }
        if (options.limit() < 0) {
            while (window.fill(1)) {
                byte c = window.segment().get(ValueLayout.JAVA_BYTE, window.pos());
                if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
                    throw InputException.atOffset(file, window.inputOffset(window.pos()), "the header declares " + declaredRows
                            + " rows, but more data follows the last of them");
                }
                window.advanceTo(window.pos() + 1);
            }
        }
        checkEnoughRows(row, wanted, declaredRows, "byte offset " + window.inputOffset(window.pos()));
        options.progress().advance(window.inputOffset(window.pos()) - reported, row & 4095);
        return row;
    }

    private long wanted(long declaredRows) {
        long wanted = declaredRows >= 0 ? declaredRows : Long.MAX_VALUE;
        return options.limit() >= 0 ? Math.min(wanted, options.limit()) : wanted;
    }

    private void checkEnoughRows(long row, long wanted, long declaredRows, String where) {
        if (declaredRows >= 0 && row < wanted) {
            throw new InputException(file, where, "the header declares " + declaredRows + " rows, but the file has only " + row);
        }
    }
}
