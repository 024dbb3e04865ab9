package io.embstore.formats;

import io.embstore.store.io.Futures;
import io.embstore.store.EmbeddingStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a store (or some of its rows) as word2vec text, word2vec binary or GloVe text, optionally gzip-compressed.
 *
 * <p>Words are checked first ({@link ExportedWords}): a word the format cannot carry unchanged is refused before
 * anything is written. A table without a vocabulary is written with its row ids as words. Text values are the
 * shortest decimal that reads back as the same float32, laid out as NumPy writes a float32 ({@link ShortestFloat}),
 * so text to store to text to store is bit-identical. Rows are formatted in blocks on every core, and each block is
 * put at its place in the file by the thread that formatted it ({@link DirectOutput}, direct I/O where available).
 * A file is written to a temporary sibling, forced to disk and renamed into place at the end: an error never leaves a
 * half-written file. Standard output, a device or a FIFO is written to in order, as it is ({@link OutputTarget}).
 */
final class VectorExporter {
    private static final int BLOCK_ROWS = 1024;
    /** Blocks asked for ahead of the one being formatted (see BlockFormatter.askAhead). */
    private static final int AHEAD_BLOCKS = 3;
    private static final java.lang.invoke.VarHandle FLOAT_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    private VectorExporter() {
    }

    /**
     * Writes {@code rows} of {@code store} to {@code out}: a file to replace is written to a temporary sibling,
     * forced and renamed into place (an error never leaves a half-written file); standard output, a device or a FIFO
     * is written to as a stream, in row order.
     */
    static ExportSummary export(EmbeddingStore store, RowSelection rows, OutputTarget out, VectorFormat format, int threads,
                        ProgressListener progress) {
        ExportedWords.check(store, rows, format);
        byte[] header = format == VectorFormat.GLOVE ? new byte[0]
                : (rows.size() + " " + store.dim() + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            if (!out.replaced()) {
                try (CountingStream counted = new CountingStream(out.openStream());
                     OutputStream os = out.compressed() ? new GZIPOutputStream(counted, 1 << 16)
                             : new BufferedOutputStream(counted, 1 << 20)) {
                    long text = writeStreamed(store, rows, os, format, threads, progress, header);
                    os.flush();
                    os.close(); // the gzip trailer, whose failure is this export's failure too
                    return new ExportSummary(rows.size(), text, counted.count);
                }
            }
            try (OutputTarget.Temp temp = out.createTemp()) {
                ExportSummary sizes;
                if (out.compressed()) {
                    try (CountingStream counted = new CountingStream(Files.newOutputStream(temp.path(),
                            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
                         OutputStream os = new GZIPOutputStream(new BufferedOutputStream(counted, 1 << 20), 1 << 16)) {
                        long text = writeStreamed(store, rows, os, format, threads, progress, header);
                        os.close();
                        sizes = new ExportSummary(rows.size(), text, counted.count);
                    }
                } else {
                    long text = writePlain(store, rows, temp.path(), format, Math.max(1, threads), progress, header);
                    sizes = new ExportSummary(rows.size(), text, text);
                }
                temp.install();
                return sizes;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(out.shown() + ": cannot write: " + OutputLocation.reason(e), e);
        } catch (UncheckedIOException e) {
            // A write failed on the output's writer thread (a full disk): reported as above, naming the output.
            throw new UncheckedIOException(out.shown() + ": cannot write: " + OutputLocation.reason(e.getCause()),
                    e.getCause());
        }
    }

    /** The bytes that went through to the output. */
    private static final class CountingStream extends java.io.FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /**
     * Plain output: every thread formats a block, learns where it goes once the block before it is formatted (a
     * running offset handed on in block order), and puts it there itself. No single thread copies everything; the
     * {@link DirectOutput} writes each 4 MB of the file with direct I/O as soon as it is whole, so the disk works while
     * the rest is formatted and the final fsync has almost nothing left to do.
     */
    private static long writePlain(EmbeddingStore store, RowSelection rows, Path temp, VectorFormat format, int threads,
                                   ProgressListener progress, byte[] header) throws IOException {
        long blocks = (rows.size() + BLOCK_ROWS - 1) / BLOCK_ROWS;
        try (DirectOutput output = DirectOutput.create(temp)) {
            output.put(0, header, header.length);
            BlockOrder order = new BlockOrder(header.length);
            AtomicLong nextBlock = new AtomicLong();
            ExecutorService pool = WorkerPool.fixed(threads, "embstore-export");
            try {
                List<Future<?>> workers = new ArrayList<>();
                for (int w = 0; w < threads; w++) {
                    workers.add(pool.submit(() -> {
                        BlockFormatter formatter = new BlockFormatter(store, format);
                        for (long b = nextBlock.getAndIncrement(); b < blocks; b = nextBlock.getAndIncrement()) {
                            long first = b * BLOCK_ROWS;
                            long last = Math.min(rows.size(), first + BLOCK_ROWS);
                            int length;
                            try {
                                length = formatter.format(rows, first, last);
                            } catch (RuntimeException | Error e) {
                                order.fail(e);
                                throw e;
                            }
                            output.put(order.place(b, length), formatter.bytes(), length);
                            progress.advance(length, last - first);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : workers) {
                    Futures.joinUnchecked(f);
                }
            } finally {
                pool.shutdownNow();
            }
            long end = order.end();
            output.finish(end);
            return end;
        }
    }

    /** Hands each block its file offset in block order: block b waits until block b - 1 has its length known. */
    private static final class BlockOrder {
        private long nextBlock;
        private long nextOffset;
        private Throwable failure;

        BlockOrder(long start) {
            this.nextOffset = start;
        }

        synchronized long place(long block, int length) {
            while (nextBlock != block) {
                if (failure != null) {
                    throw new IllegalStateException("another block failed", failure);
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while exporting", e);
                }
            }
            long at = nextOffset;
            nextOffset += length;
            nextBlock++;
            notifyAll();
            return at;
        }

        /** Wakes the blocks waiting on a block that will never be placed. */
        synchronized void fail(Throwable e) {
            failure = e;
            notifyAll();
        }

        synchronized long end() {
            return nextOffset;
        }
    }

    /**
     * A stream output (gzip, standard output, a device, a FIFO) is written in order: blocks are formatted on every core
     * and written one after the other by this thread. Returns the bytes given to {@code os}.
     */
    private static long writeStreamed(EmbeddingStore store, RowSelection rows, OutputStream os, VectorFormat format,
                                      int threads, ProgressListener progress, byte[] header) throws IOException {
        ExecutorService pool = WorkerPool.fixed(Math.max(1, threads), "embstore-export");
        long written = header.length;
        try {
            os.write(header);
            long blocks = (rows.size() + BLOCK_ROWS - 1) / BLOCK_ROWS;
            ArrayDeque<Future<byte[]>> inFlight = new ArrayDeque<>();
            long next = 0;
            for (long b = 0; b < blocks || !inFlight.isEmpty(); ) {
                while (b < blocks && inFlight.size() < 4 * Math.max(1, threads)) {
                    long first = b * BLOCK_ROWS;
                    long last = Math.min(rows.size(), first + BLOCK_ROWS);
                    inFlight.add(pool.submit(() -> {
                        BlockFormatter formatter = new BlockFormatter(store, format);
                        int length = formatter.format(rows, first, last);
                        return java.util.Arrays.copyOf(formatter.bytes(), length);
                    }));
                    b++;
                }
                byte[] block = Futures.joinUnchecked(inFlight.poll());
                os.write(block);
                written += block.length;
                long done = Math.min(rows.size(), (next + 1) * BLOCK_ROWS) - next * BLOCK_ROWS;
                progress.advance(block.length, done);
                next++;
            }
            return written;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Formats blocks of rows into one reused byte array: words as UTF-8, values as ShortestFloat or raw float32. */
    private static final class BlockFormatter {
        private final EmbeddingStore store;
        private final VectorFormat format;
        private final int dim;
        private final float[] values;
        private final boolean vocabulary;
        private byte[] bytes = new byte[1 << 16];

        BlockFormatter(EmbeddingStore store, VectorFormat format) {
            this.store = store;
            this.format = format;
            this.vocabulary = store.hasVocabulary();
            this.dim = store.dim();
            this.values = new float[dim];
        }

        byte[] bytes() {
            return bytes;
        }

        /** Formats rows [first, last) of the selection into {@link #bytes()}; returns the length. */
        int format(RowSelection rows, long first, long last) {
            boolean binary = format == VectorFormat.WORD2VEC_BINARY;
            // A value takes at most MAX_CHARS and its separator; a binary one 4 bytes.
            int perRow = binary ? 4 * dim + 2 : (ShortestFloat.MAX_CHARS + 1) * dim + 1;
            int pos = 0;
            askAhead(rows, first, last);
            for (long i = first; i < last; i++) {
                long row = rows.row(i);
                store.read(row, values);
                // An id-indexed table's row id is its word: a delta of one names the rows it holds.
                byte[] word = (vocabulary ? store.word(row) : Long.toString(row)).getBytes(StandardCharsets.UTF_8);
                ensure(pos + word.length + perRow);
                System.arraycopy(word, 0, bytes, pos, word.length);
                pos += word.length;
                if (binary) {
                    bytes[pos++] = ' ';
                    for (float v : values) {
                        FLOAT_LE.set(bytes, pos, v);
                        pos += 4;
                    }
                } else {
                    for (float v : values) {
                        bytes[pos++] = ' ';
                        pos = ShortestFloat.write(v, bytes, pos);
                    }
                }
                bytes[pos++] = '\n';
            }
            return pos;
        }

        /**
         * The store's mappings are advised for random row reads (a fault reads its own page only): an export of
         * consecutive rows asks for this block's rows and the next few blocks' ahead, so that a cold table is read at
         * the disk's streaming rate rather than a page per fault. Rows of the block that are not consecutive (a
         * selection) are read as they come.
         */
        private void askAhead(RowSelection rows, long first, long last) {
            if (last <= first) {
                return;
            }
            long from = rows.row(first);
            long to = rows.row(last - 1) + 1;
            if (to - from == last - first) {
                store.willRead(from, Math.min(store.rows(), to + AHEAD_BLOCKS * (long) BLOCK_ROWS));
            }
        }

        private void ensure(int size) {
            if (size > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(size, bytes.length * 2));
            }
        }
    }

}
