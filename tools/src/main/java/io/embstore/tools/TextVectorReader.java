package io.embstore.tools;

import io.embstore.store.EmbeddingStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads word2vec/fastText text and GloVe text from a mapped file on every core.
 *
 * <p>The body is cut into chunks of at most {@link #MAX_CHUNK} bytes at line boundaries. A first parallel pass counts
 * the lines and rows (non-blank lines) of each chunk, which gives every chunk its first line number and first row; the
 * second parallel pass copies each chunk into its thread's buffer (plain array access is the fastest way for Java to
 * walk bytes) and parses it straight into its rows of the draft. So the store's row order is the file's line order,
 * and the heap holds one chunk buffer per thread whatever the file's size. The first error by line number wins.
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
    long read(EmbeddingStore.Draft draft) {
        int threads = Math.max(1, options.threads());
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "embstore-parse");
            t.setDaemon(true);
            return t;
        });
        try {
            chunks = count(pool, split(threads));
            long total = 0;
            for (Chunk c : chunks) {
                total += c.rows();
            }
            long rows = declaredRows >= 0 ? declaredRows : total;
            if (options.limit() >= 0) {
                rows = Math.min(rows, options.limit());
            }
            checkRowCount(total, rows);
            draft.ensureCapacity(rows);
            draft.ensureWordCapacity(RowSink.wordCapacityBound(end - bodyStart, rows, options.encoding()));
            parse(pool, draft, rows);
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

    private List<Chunk> count(ExecutorService pool, List<Chunk> pieces) {
        List<Future<Chunk>> counted = new ArrayList<>();
        for (Chunk c : pieces) {
            counted.add(pool.submit(() -> {
                long lines = 0;
                long rows = 0;
                for (long pos = c.start(); pos < c.end(); lines++) {
                    long nl = TextScan.indexOf(seg, pos, c.end(), (byte) '\n');
                    long lineEnd = nl < 0 ? c.end() : nl;
                    if (!blank(pos, lineEnd)) {
                        rows++;
                    }
                    pos = lineEnd + 1;
                }
                return new Chunk(c.start(), c.end(), 0, 0, lines, rows);
            }));
        }
        List<Chunk> result = new ArrayList<>();
        long line = firstLine;
        long row = 0;
        for (Future<Chunk> f : counted) {
            Chunk c = join(f);
            result.add(c.withBases(line, row));
            line += c.lines();
            row += c.rows();
        }
        return result;
    }

    private void parse(ExecutorService pool, EmbeddingStore.Draft draft, long rows) {
        AtomicLong firstErrorLine = new AtomicLong(Long.MAX_VALUE);
        List<Future<?>> parsed = new ArrayList<>();
        for (Chunk c : chunks) {
            if (c.rowBase() >= rows && c.rows() > 0) {
                break;
            }
            parsed.add(pool.submit(() -> {
                try {
                    parseChunk(c, draft, rows, firstErrorLine);
                } catch (InputException e) {
                    firstErrorLine.accumulateAndGet(lineOf(e), Math::min);
                    throw e;
                }
                return null;
            }));
        }
        InputException first = null;
        for (Future<?> f : parsed) {
            try {
                join(f);
            } catch (InputException e) {
                if (first == null || lineOf(e) < lineOf(first)) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private void parseChunk(Chunk c, EmbeddingStore.Draft draft, long rows, AtomicLong firstErrorLine) {
        int length = (int) (c.end() - c.start());
        byte[] buf = buffers.get();
        if (buf == null || buf.length < length) {
            buf = new byte[Math.max(length, MAX_CHUNK + (1 << 16))];
            buffers.set(buf);
        }
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, c.start(), buf, 0, length);
        LineParser parser = new LineParser(dim, options.allowNonFinite());
        RowSink sink = new RowSink(draft, options.encoding());
        long row = c.rowBase();
        long line = c.lineBase();
        int pos = 0;
        while (pos < length && row < rows) {
            int nl = TextScan.indexOf(buf, pos, length, (byte) '\n');
            int lineEnd = nl < 0 ? length : nl;
            int contentEnd = LineParser.trimEnd(buf, pos, lineEnd);
            if (contentEnd > pos) {
                if (line > firstErrorLine.get()) {
                    return;
                }
                try {
                    int wordEnd = parser.parse(buf, pos, contentEnd);
                    sink.put(row, parser.values(), buf, pos, wordEnd);
                } catch (LineParser.MalformedLine e) {
                    throw InputException.atLine(file, line, e.getMessage());
                }
                row++;
            }
            line++;
            pos = lineEnd + 1;
        }
        options.progress().advance(length, row - c.rowBase());
    }

    private static long lineOf(InputException e) {
        return Long.parseLong(e.where().substring("line ".length()));
    }

    private static <T> T join(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while parsing", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }
}
