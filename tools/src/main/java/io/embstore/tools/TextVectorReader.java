package io.embstore.tools;

import io.embstore.store.EmbeddingStore;
import java.lang.foreign.MemorySegment;
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
 * <p>The body is cut into chunks at line boundaries. A first parallel pass counts the lines and rows (non-blank
 * lines) of each chunk, which gives every chunk its first line number and first row; the second parallel pass parses
 * each chunk straight into its rows of the draft. So the store's row order is the file's line order, and the heap
 * holds only per-thread buffers whatever the file's size. The first error by line number wins.
 */
final class TextVectorReader {
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

    private interface LineVisitor {
        /** Returns false to stop. */
        boolean visit(long start, long contentEnd, long line) throws LineParser.MalformedLine;
    }

    /** Calls {@code visitor} for each line of {@code chunk}, numbering lines from {@code chunk.lineBase()}. */
    private void forEachLine(Chunk chunk, LineVisitor visitor) {
        long line = chunk.lineBase();
        long pos = chunk.start();
        while (pos < chunk.end()) {
            long nl = TextScan.indexOf(seg, pos, chunk.end(), (byte) '\n');
            long lineEnd = nl < 0 ? chunk.end() : nl;
            try {
                if (!visitor.visit(pos, LineParser.trimEnd(seg, pos, lineEnd), line)) {
                    return;
                }
            } catch (LineParser.MalformedLine e) {
                throw InputException.atLine(file, line, e.getMessage());
            }
            line++;
            pos = nl < 0 ? chunk.end() : nl + 1;
        }
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

    /** The line number of row {@code row} (0-based), found by re-reading the one chunk that holds it. */
    long lineOfRow(long row) {
        for (Chunk c : chunks) {
            if (row >= c.rowBase() && row < c.rowBase() + c.rows()) {
                long[] found = {-1};
                long[] seen = {c.rowBase()};
                forEachLine(c, (start, contentEnd, line) -> {
                    if (contentEnd > start) {
                        if (seen[0] == row) {
                            found[0] = line;
                            return false;
                        }
                        seen[0]++;
                    }
                    return true;
                });
                return found[0];
            }
        }
        return -1;
    }

    /** Cuts the body into about 16 chunks per thread, each at least 1 MiB, at line boundaries. */
    private List<Chunk> split(int threads) {
        long bytes = end - bodyStart;
        long target = Math.max(1 << 20, bytes / (threads * 16L) + 1);
        List<Chunk> result = new ArrayList<>();
        long start = bodyStart;
        while (start < end) {
            long cut = Math.min(end, start + target);
            if (cut < end) {
                long nl = TextScan.indexOf(seg, cut, end, (byte) '\n');
                cut = nl < 0 ? end : nl + 1;
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
                long[] lines = {0};
                long[] rows = {0};
                forEachLine(c, (start, contentEnd, line) -> {
                    lines[0]++;
                    if (contentEnd > start) {
                        rows[0]++;
                    }
                    return true;
                });
                return new Chunk(c.start(), c.end(), 0, 0, lines[0], rows[0]);
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
                LineParser parser = new LineParser(dim, options.allowNonFinite());
                RowSink sink = new RowSink(draft, options.encoding());
                long[] row = {c.rowBase()};
                long[] bytesAtLastReport = {c.start()};
                try {
                    forEachLine(c, (start, contentEnd, line) -> {
                        if (line > firstErrorLine.get()) {
                            return false;
                        }
                        if (contentEnd == start) {
                            return true;
                        }
                        if (row[0] >= rows) {
                            return false;
                        }
                        long wordEnd = parser.parse(seg, start, contentEnd);
                        sink.put(row[0], parser.values(), seg, start, wordEnd);
                        row[0]++;
                        if ((row[0] & 4095) == 0) {
                            options.progress().advance(contentEnd - bytesAtLastReport[0], 4096);
                            bytesAtLastReport[0] = contentEnd;
                        }
                        return true;
                    });
                } catch (InputException e) {
                    long line = Long.parseLong(e.where().substring("line ".length()));
                    firstErrorLine.accumulateAndGet(line, Math::min);
                    throw e;
                }
                options.progress().advance(c.end() - bytesAtLastReport[0], (row[0] - c.rowBase()) & 4095);
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

    /** The first byte of a line, for GloVe's dim detection. */
    static long firstNonBlankLine(MemorySegment seg, long from, long end) {
        long pos = from;
        while (pos < end) {
            long nl = TextScan.indexOf(seg, pos, end, (byte) '\n');
            long lineEnd = nl < 0 ? end : nl;
            if (LineParser.trimEnd(seg, pos, lineEnd) > pos) {
                return pos;
            }
            pos = nl < 0 ? end : nl + 1;
        }
        return -1;
    }
}
