package io.embstore.formats;

import io.embstore.store.io.Futures;
import io.embstore.store.Draft;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads word2vec/fastText text and GloVe text from a mapped file on every core.
 *
 * <p>The body is cut into chunks of at most {@link #MAX_CHUNK} bytes at line boundaries, and the chunks are read in
 * one parallel pass: a worker copies its chunk into its thread's buffer (plain array access is the fastest way for
 * Java to walk bytes), counts the chunk's lines and rows (non-blank lines) there, waits until the chunk before it has
 * been counted, which gives its first line number and first row, and parses it straight into its rows of the draft.
 * So the store's row order is the file's line order, the file is read once, and the heap holds one chunk buffer per
 * thread whatever the file's size. The first error by line number wins, except that a row count disagreeing with the
 * header is reported first, as a reader counting before parsing would.
 */
final class TextVectorReader {
    static final int MAX_CHUNK = 8 << 20;

    /** A piece of the body that starts at a line start and ends after a newline (or at the end of the file). */
    private record Chunk(long start, long end, long lineBase, long rowBase, long lines, long rows) {
        Chunk withBases(long lineBase, long rowBase) {
            return new Chunk(start, end, lineBase, rowBase, lines, rows);
        }
    }

    private final Path file;
    private final MemorySegment seg;
    private final long bodyStart;
    private final long end;
    private final long firstLine;
    private final int dim;
    private final long declaredRows;
    private final ConvertOptions options;
    private final ThreadLocal<byte[]> buffers = new ThreadLocal<>();
    private List<Chunk> chunks;

    /**
     * @param firstLine    the line number of the line at {@code bodyStart}
     * @param declaredRows rows a header declared, or -1 (GloVe)
     */
    TextVectorReader(Path file, MemorySegment seg, long bodyStart, long end, long firstLine, int dim, long declaredRows,
                     ConvertOptions options) {
        this.file = file;
        this.seg = seg;
        this.bodyStart = bodyStart;
        this.end = end;
        this.firstLine = firstLine;
        this.dim = dim;
        this.declaredRows = declaredRows;
        this.options = options;
    }

    /** Reads every row into {@code draft} (which it sizes) and returns the number of rows read. */
    long read(Draft draft) {
        int threads = Math.max(1, options.threads());
        ExecutorService pool = WorkerPool.fixed(threads, "embstore-parse");
        try {
            long rowLimit = Long.MAX_VALUE;
            if (declaredRows >= 0) {
                rowLimit = declaredRows;
            }
            if (options.limit() >= 0) {
                rowLimit = Math.min(rowLimit, options.limit());
            }
            // The row count is known only once every chunk is counted, and counting is folded into the parse, so
            // the draft is sized for the most rows the bytes can hold: a row is at least a one-byte word and dim
            // pairs of separator and digit. The files are sparse until written, and trimmed at the commit.
            long capacity = Math.min(rowLimit, (end - bodyStart + 1) / (2L * dim + 1) + 1);
            draft.ensureCapacity(capacity);
            draft.ensureWordCapacity(RowSink.wordCapacityBound(end - bodyStart, capacity, options.encoding()));
            InputException parseError = parse(pool, draft, split(threads), Math.min(rowLimit, capacity));
            long total = 0;
            for (Chunk c : chunks) {
                total += c.rows();
            }
            long rows = Math.min(total, rowLimit);
            // As in a file read twice: a row count that disagrees with the header is the error to report.
            checkRowCount(total, declaredRows < 0 ? rows : rowLimit);
            if (parseError != null) {
                throw parseError;
            }
            if (rows > capacity) {
                throw new IllegalStateException(rows + " rows parsed without an error but the bound was " + capacity);
            }
            return rows;
        } finally {
            pool.shutdownNow();
        }
    }

    private void checkRowCount(long total, long rows) {
        if (declaredRows < 0) {
            return;
        }
        if (total < rows) {
            throw InputException.atLine(file, lastLine(), "the header declares " + declaredRows + " rows, but the file has only "
                    + total);
        }
        if (options.limit() < 0 && total > declaredRows) {
            throw InputException.atLine(file, lineOfRow(declaredRows), "the header declares " + declaredRows
                    + " rows, but this line is row " + (declaredRows + 1));
        }
    }

    private long lastLine() {
        Chunk last = chunks.get(chunks.size() - 1);
        return Math.max(firstLine, last.lineBase() + last.lines() - 1);
    }

    private boolean blank(long start, long lineEnd) {
        for (long i = start; i < lineEnd; i++) {
            byte c = seg.get(ValueLayout.JAVA_BYTE, i);
            if (c != ' ' && c != '\t' && c != '\r') {
                return false;
            }
        }
        return true;
    }

    /** The line number of row {@code row} (0-based), found by re-reading the one chunk that holds it. */
    long lineOfRow(long row) {
        for (Chunk c : chunks) {
            if (row >= c.rowBase() && row < c.rowBase() + c.rows()) {
                long seen = c.rowBase();
                long line = c.lineBase();
                for (long pos = c.start(); pos < c.end(); line++) {
                    long nl = TextScan.indexOf(seg, pos, c.end(), (byte) '\n');
                    long lineEnd = nl < 0 ? c.end() : nl;
                    if (!blank(pos, lineEnd)) {
                        if (seen == row) {
                            return line;
                        }
                        seen++;
                    }
                    pos = lineEnd + 1;
                }
            }
        }
        return -1;
    }

    /** Cuts the body into about 16 chunks per thread, between 1 MiB and {@link #MAX_CHUNK}, at line boundaries. */
    private List<Chunk> split(int threads) {
        long bytes = end - bodyStart;
        long target = Math.min(MAX_CHUNK, Math.max(1 << 20, bytes / (threads * 16L) + 1));
        List<Chunk> result = new ArrayList<>();
        long start = bodyStart;
        while (start < end) {
            long cut = Math.min(end, start + target);
            if (cut < end) {
                long nl = TextScan.indexOf(seg, cut - 1, end, (byte) '\n');
                cut = nl < 0 ? end : nl + 1;
            }
            if (cut - start > Integer.MAX_VALUE - 16) {
                throw new InputException(file, "byte offset " + start, "a line longer than 2 GB: not a vector file");
            }
            result.add(new Chunk(start, cut, 0, 0, 0, 0));
            start = cut;
        }
        if (result.isEmpty()) {
            result.add(new Chunk(end, end, 0, 0, 0, 0));
        }
        return result;
    }

    /** Hands each chunk its first line number and first row, in chunk order, as soon as the chunk before is counted. */
    private final class ChunkOrder {
        private final Chunk[] placed;
        private final long stopAtRow;
        private int next;
        private long line = firstLine;
        private long row;
        private boolean stopped;

        ChunkOrder(int chunks, long stopAtRow) {
            this.placed = new Chunk[chunks];
            this.stopAtRow = stopAtRow;
        }

        /** Chunk {@code i} has these counts; returns it with its bases, or null if the rows to read are all placed. */
        synchronized Chunk place(int i, Chunk counted) {
            while (next != i && !stopped) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while parsing", e);
                }
            }
            if (stopped) {
                return null;
            }
            Chunk c = counted.withBases(line, row);
            placed[i] = c;
            line += c.lines();
            row += c.rows();
            next++;
            // Under --limit nothing after the last wanted row needs counting (the header check needs every row
            // only without a limit).
            if (row >= stopAtRow) {
                stopped = true;
            }
            notifyAll();
            return c;
        }

        synchronized boolean stopped() {
            return stopped;
        }

        /** A worker died: nobody may wait for its chunk. */
        synchronized void fail() {
            stopped = true;
            notifyAll();
        }

        synchronized List<Chunk> chunks() {
            List<Chunk> result = new ArrayList<>();
            for (Chunk c : placed) {
                if (c == null) {
                    break;
                }
                result.add(c);
            }
            return result;
        }
    }

    /**
     * One pass over the chunks on every core: each worker takes the next chunk, copies it into its buffer, counts
     * its lines and rows there, waits for the chunk before it to be counted (which gives its first line and row)
     * and parses it. Returns the parse error with the lowest line number, or null.
     */
    private InputException parse(ExecutorService pool, Draft draft, List<Chunk> pieces, long rowLimit) {
        ChunkOrder order = new ChunkOrder(pieces.size(), options.limit() >= 0 ? options.limit() : Long.MAX_VALUE);
        AtomicInteger nextChunk = new AtomicInteger();
        AtomicLong firstErrorLine = new AtomicLong(Long.MAX_VALUE);
        List<Future<InputException>> workers = new ArrayList<>();
        int threads = Math.max(1, options.threads());
        for (int w = 0; w < threads; w++) {
            workers.add(pool.submit(() -> {
                InputException first = null;
                try {
                    for (int i = nextChunk.getAndIncrement(); i < pieces.size() && !order.stopped();
                         i = nextChunk.getAndIncrement()) {
                        Chunk piece = pieces.get(i);
                        int length = (int) (piece.end() - piece.start());
                        byte[] buf = buffer(length);
                        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, piece.start(), buf, 0, length);
                        LineEnds ends = lineEnds.get();
                        Chunk c = order.place(i, countLines(piece, buf, length, ends));
                        if (c == null) {
                            break;
                        }
                        if (c.rowBase() >= rowLimit || c.lineBase() > firstErrorLine.get()) {
                            continue;
                        }
                        try {
                            parseChunk(c, buf, length, ends, draft, rowLimit, firstErrorLine);
                        } catch (InputException e) {
                            firstErrorLine.accumulateAndGet(lineOf(e), Math::min);
                            if (first == null) {
                                first = e;
                            }
                        }
                    }
                } catch (RuntimeException | Error e) {
                    order.fail();
                    throw e;
                }
                return first;
            }));
        }
        InputException first = null;
        for (Future<InputException> f : workers) {
            InputException e = Futures.joinUnchecked(f);
            if (e != null && (first == null || lineOf(e) < lineOf(first))) {
                first = e;
            }
        }
        chunks = order.chunks();
        if (chunks.isEmpty()) {
            chunks = List.of(new Chunk(end, end, firstLine, 0, 0, 0));
        }
        return first;
    }

    private byte[] buffer(int length) {
        byte[] buf = buffers.get();
        if (buf == null || buf.length < length + 64) {
            // Slack after the chunk lets the parser read eight bytes at a time near its end.
            buf = new byte[Math.max(length + 64, MAX_CHUNK + (1 << 16))];
            buffers.set(buf);
        }
        return buf;
    }

    /** Where each line of the chunk in a thread's buffer ends, noted by the count for the parse: one scan, not two. */
    private static final class LineEnds {
        int[] ends = new int[4096];
        int count;

        void add(int end) {
            if (count == ends.length) {
                ends = java.util.Arrays.copyOf(ends, count * 2);
            }
            ends[count++] = end;
        }
    }

    private final ThreadLocal<LineEnds> lineEnds = ThreadLocal.withInitial(LineEnds::new);

    /** The chunk with its lines and rows (non-blank lines) counted in {@code buf}; the line ends go to {@code ends}. */
    private static Chunk countLines(Chunk piece, byte[] buf, int length, LineEnds ends) {
        ends.count = 0;
        long rows = 0;
        for (int pos = 0; pos < length; ) {
            int lineEnd = countLine(buf, pos, length, ends);
            rows += lineEnd >>> 31;
            pos = (lineEnd & Integer.MAX_VALUE) + 1;
        }
        return new Chunk(piece.start(), piece.end(), 0, 0, ends.count, rows);
    }

    /**
     * Notes the end of the line that starts at {@code pos} and returns it, with the sign bit set when the line is not
     * blank. A method per line rather than a loop body, for the JIT (see {@link #parseChunk}).
     */
    private static int countLine(byte[] buf, int pos, int length, LineEnds ends) {
        int nl = TextScan.indexOf(buf, pos, length, (byte) '\n');
        int lineEnd = nl < 0 ? length : nl;
        ends.add(lineEnd);
        return LineParser.trimEnd(buf, pos, lineEnd) > pos ? lineEnd | Integer.MIN_VALUE : lineEnd;
    }

    private void parseChunk(Chunk c, byte[] buf, int length, LineEnds ends, Draft draft, long rows,
                            AtomicLong firstErrorLine) {
        LineParser parser = new LineParser(dim, options.allowNonFinite());
        RowSink sink = new RowSink(draft, options.encoding());
        long row = c.rowBase();
        long line = c.lineBase();
        int pos = 0;
        // The loop only calls putLine: the JIT compiles a method after a few hundred calls, but a loop body only
        // after tens of thousands of iterations in the interpreter, which would run the first chunks' lines.
        for (int k = 0; k < ends.count && row < rows; k++) {
            int lineEnd = ends.ends[k];
            int put = putLine(buf, pos, lineEnd, row, line, parser, sink, firstErrorLine);
            if (put < 0) {
                return;
            }
            row += put;
            line++;
            pos = lineEnd + 1;
        }
        options.progress().advance(length, row - c.rowBase());
    }

    /**
     * Parses the line {@code buf[pos, lineEnd)} into row {@code row}: returns 1 when it put the row, 0 for a blank
     * line, -1 when the line comes after an error already found (nothing after it matters).
     */
    private int putLine(byte[] buf, int pos, int lineEnd, long row, long line, LineParser parser, RowSink sink,
                        AtomicLong firstErrorLine) {
        int contentEnd = LineParser.trimEnd(buf, pos, lineEnd);
        if (contentEnd <= pos) {
            return 0;
        }
        if (line > firstErrorLine.get()) {
            return -1;
        }
        try {
            int wordEnd = parser.parse(buf, pos, contentEnd);
            sink.put(row, parser.values(), buf, pos, wordEnd);
        } catch (LineParser.MalformedLine e) {
            throw InputException.atLine(file, line, e.getMessage());
        }
        return 1;
    }

    private static long lineOf(InputException e) {
        return Long.parseLong(e.where().substring("line ".length()));
    }

}
