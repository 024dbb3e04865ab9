package io.embstore.formats;

import io.embstore.store.io.Futures;
import io.embstore.store.io.Phases;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Draft;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads word2vec binary (GoogleNews layout) from a mapped file: after the {@code rows dim} header line, per row the
 * word, one space, {@code dim} little-endian float32 values and an optional newline, copied into the store on every
 * core. Errors name the byte offset.
 */
public final class BinaryVectorReader {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Rows per parallel copy task. */
    public static final int BLOCK_ROWS = 4096;

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

    /**
     * Reads the rows into {@code draft} and returns how many. A first pass on this thread walks the row records
     * (word, space, {@code dim * 4} bytes: the float bytes may hold spaces and newlines, so only a walk from the
     * start finds where rows begin), checks their structure and notes where every block of {@link #BLOCK_ROWS}
     * rows starts; then the blocks are copied into the draft on every core. Errors come out in file order: a
     * structural one found by the walk loses to an earlier bad word or value found by the copy.
     */
    long read(Draft draft) {
        long rows = options.limit() >= 0 ? Math.min(options.limit(), declaredRows) : declaredRows;
        draft.ensureCapacity(rows);
        draft.ensureWordCapacity(RowSink.wordCapacityBound(end - bodyStart, rows, options.encoding()));
        List<Long> blockStarts = new ArrayList<>();
        long pos = bodyStart;
        long walked = 0;
        // A method call per row, not a long loop body: the JIT compiles a method after a few hundred calls, a loop
        // body only after tens of thousands of iterations in the interpreter.
        for (; walked < rows; walked++) {
            pos = skipNewlines(pos);
            if ((walked % BLOCK_ROWS) == 0) {
                blockStarts.add(pos);
            }
            long next = walkRow(pos, walked);
            if (next < 0) {
                break;
            }
            pos = next;
        }
        if (structural == null && options.limit() < 0) {
            long rest = skipWhitespace(pos);
            if (rest < end) {
                structural = InputException.atOffset(file, rest, "the header declares " + declaredRows
                        + " rows, but more data follows the last of them");
            }
        }
        Phases.ended("walked");
        copyBlocks(draft, blockStarts, walked);
        if (structural != null) {
            throw structural;
        }
        return rows;
    }

    /** The first structural error the walk found, or null. */
    private InputException structural;

    /**
     * Checks the record of row {@code row} (0-based) at {@code pos} (after any newlines) and returns where the next
     * one starts, or -1 after noting a structural error.
     */
    private long walkRow(long pos, long row) {
        if (pos >= end) {
            structural = InputException.atOffset(file, pos, "the header declares " + declaredRows
                    + " rows, but the file ends after " + row);
            return -1;
        }
        long space = TextScan.indexOf(seg, pos, Math.min(end, pos + EmbeddingStore.MAX_WORD_BYTES + 1), (byte) ' ');
        if (space < 0) {
            structural = InputException.atOffset(file, pos, "row " + (row + 1) + ": expected a word ending in a space, "
                    + (end - pos <= EmbeddingStore.MAX_WORD_BYTES ? "but the file ends" : "found none in "
                    + EmbeddingStore.MAX_WORD_BYTES + " bytes"));
            return -1;
        }
        if (space == pos) {
            structural = InputException.atOffset(file, pos, "row " + (row + 1) + ": the word is empty");
            return -1;
        }
        long vector = space + 1;
        long vectorBytes = 4L * dim;
        if (vector + vectorBytes > end) {
            structural = InputException.atOffset(file, vector, "row " + (row + 1) + ": expected " + dim
                    + " float32 values (" + vectorBytes + " bytes), but the file ends after " + (end - vector));
            return -1;
        }
        return vector + vectorBytes;
    }

    /** Copies rows [0, rows) into the draft on every core, block {@code b} starting at {@code blockStarts[b]}. */
    private void copyBlocks(Draft draft, List<Long> blockStarts, long rows) {
        int threads = Math.max(1, options.threads());
        ExecutorService pool = WorkerPool.fixed(threads, "embstore-parse");
        try {
            AtomicInteger nextBlock = new AtomicInteger();
            AtomicLong firstBadRow = new AtomicLong(Long.MAX_VALUE);
            List<Future<InputException>> workers = new ArrayList<>();
            for (int w = 0; w < threads; w++) {
                workers.add(pool.submit(() -> {
                    RowSink sink = new RowSink(draft, options.encoding());
                    float[] values = new float[dim];
                    byte[] word = new byte[EmbeddingStore.MAX_WORD_BYTES];
                    for (int b = nextBlock.getAndIncrement(); b < blockStarts.size(); b = nextBlock.getAndIncrement()) {
                        long first = (long) b * BLOCK_ROWS;
                        if (first >= Math.min(rows, firstBadRow.get())) {
                            break;
                        }
                        InputException e = copyBlock(sink, values, word, blockStarts.get(b), first,
                                Math.min(rows, first + BLOCK_ROWS));
                        if (e != null) {
                            // Blocks are taken in order, so no later block of this worker can hold an earlier error.
                            firstBadRow.accumulateAndGet(first, Math::min);
                            return e;
                        }
                    }
                    return null;
                }));
            }
            InputException first = null;
            long firstOffset = Long.MAX_VALUE;
            for (Future<InputException> f : workers) {
                InputException e = Futures.joinUnchecked(f);
                if (e != null && offsetOf(e) < firstOffset) {
                    first = e;
                    firstOffset = offsetOf(e);
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Copies rows [from, to), whose records the walk checked, starting at {@code pos}; returns the first error. */
    private InputException copyBlock(RowSink sink, float[] values, byte[] word, long pos, long from, long to) {
        long started = pos;
        RowCopy copy = new RowCopy(sink, values, word);
        // One call per row (see read): the loop body is compiled as soon as the method is.
        for (long row = from; row < to; row++) {
            pos = copy.row(pos, row);
            if (pos < 0) {
                return copy.error;
            }
        }
        options.progress().advance(pos - started, to - from);
        return null;
    }

    /** Copies one row at a time for {@link #copyBlock}, keeping the first error. */
    private final class RowCopy {
        private final RowSink sink;
        private final float[] values;
        private final byte[] word;
        InputException error;

        RowCopy(RowSink sink, float[] values, byte[] word) {
            this.sink = sink;
            this.values = values;
            this.word = word;
        }

        /** Copies row {@code row} whose record starts at {@code pos} (or after newlines there); returns the next. */
        long row(long pos, long row) {
            pos = skipNewlines(pos);
            long space = TextScan.indexOf(seg, pos, end, (byte) ' ');
            long vector = space + 1;
            MemorySegment.copy(seg, F32_LE, vector, values, 0, dim);
            if (!options.allowNonFinite()) {
                boolean finite = true;
                for (int i = 0; i < dim; i++) {
                    // Exponent all ones: infinite or NaN. Branch-free, so the loop vectorises.
                    finite &= (Float.floatToRawIntBits(values[i]) & 0x7f800000) != 0x7f800000;
                }
                if (!finite) {
                    for (int i = 0; i < dim; i++) {
                        if (!Float.isFinite(values[i])) {
                            error = InputException.atOffset(file, vector + 4L * i, "row " + (row + 1) + ", value " + (i + 1)
                                    + " is " + values[i] + ": use --allow-nonfinite to keep such values");
                            return -1;
                        }
                    }
                }
            }
            try {
                int wordLength = (int) (space - pos);
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, word, 0, wordLength);
                sink.put(row, values, word, 0, wordLength);
            } catch (LineParser.MalformedLine e) {
                error = InputException.atOffset(file, pos, "row " + (row + 1) + ": " + e.getMessage());
                return -1;
            }
            return vector + 4L * dim;
        }
    }

    private static long offsetOf(InputException e) {
        return Long.parseLong(e.where().substring("byte offset ".length()));
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
