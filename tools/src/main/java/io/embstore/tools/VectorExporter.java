package io.embstore.tools;

import io.embstore.store.EmbeddingStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * The output is written to a temporary sibling, forced to disk and renamed into place at the end: an error never
 * leaves a half-written file.
 */
final class VectorExporter {
    private static final int BLOCK_ROWS = 1024;
    private static final java.lang.invoke.VarHandle FLOAT_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    /** The rows to export: all of them, or the rows of a word list. */
    interface RowSelection {
        long size();

        long row(long index);
    }

    static RowSelection allRows(EmbeddingStore store) {
        long rows = store.rows();
        return new RowSelection() {
            @Override
            public long size() {
                return rows;
            }

            @Override
            public long row(long index) {
                return index;
            }
        };
    }

    private VectorExporter() {
    }

    /** Writes {@code rows} of {@code store} to {@code out}; returns the bytes written (before compression). */
    static long export(EmbeddingStore store, RowSelection rows, Path out, VectorFormat format, int threads,
                       ConvertOptions.Progress progress) {
        ExportedWords.check(store, rows, format);
        Path absolute = out.toAbsolutePath();
        Path temp = absolute.resolveSibling("." + absolute.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        boolean gzip = absolute.getFileName().toString().endsWith(".gz");
        try {
            byte[] header = format == VectorFormat.GLOVE ? new byte[0]
                    : (rows.size() + " " + store.dim() + "\n").getBytes(StandardCharsets.US_ASCII);
            long written = gzip ? writeCompressed(store, rows, temp, format, threads, progress, header)
                    : writePlain(store, rows, temp, format, Math.max(1, threads), progress, header);
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException(absolute + ": cannot write: " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            // A write failed on the output's writer thread (a full disk): reported as above, naming the output.
            throw new UncheckedIOException(absolute + ": cannot write: " + e.getCause().getMessage(), e.getCause());
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // Best effort: the error that brought us here is the one to report.
            }
        }
    }

    /**
     * Plain output: every thread formats a block, learns where it goes once the block before it is formatted (a
     * running offset handed on in block order), and puts it there itself. No single thread copies everything; the
     * {@link DirectOutput} writes each 4 MB of the file with direct I/O as soon as it is whole, so the disk works while
     * the rest is formatted and the final fsync has almost nothing left to do.
     */
    private static long writePlain(EmbeddingStore store, RowSelection rows, Path temp, VectorFormat format, int threads,
                                   ConvertOptions.Progress progress, byte[] header) throws IOException {
        long blocks = (rows.size() + BLOCK_ROWS - 1) / BLOCK_ROWS;
        try (DirectOutput output = DirectOutput.create(temp)) {
            output.put(0, header, header.length);
            BlockOrder order = new BlockOrder(header.length);
            AtomicLong nextBlock = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "embstore-export");
                t.setDaemon(true);
                return t;
            });
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
                    TaskResults.join(f, "exporting");
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

    /** gzip output is one stream: blocks are formatted on every core and compressed and written in order. */
    private static long writeCompressed(EmbeddingStore store, RowSelection rows, Path temp, VectorFormat format,
                                        int threads, ConvertOptions.Progress progress, byte[] header) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, "embstore-export");
            t.setDaemon(true);
            return t;
        });
        long written = header.length;
        try {
            try (OutputStream file = Files.newOutputStream(temp);
                 OutputStream os = new GZIPOutputStream(new BufferedOutputStream(file, 1 << 20), 1 << 16)) {
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
                    byte[] block = TaskResults.join(inFlight.poll(), "exporting");
                    os.write(block);
                    written += block.length;
                    long done = Math.min(rows.size(), (next + 1) * BLOCK_ROWS) - next * BLOCK_ROWS;
                    progress.advance(block.length, done);
                    next++;
                }
            }
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ch.force(true);
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

        private void ensure(int size) {
            if (size > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(size, bytes.length * 2));
            }
        }
    }

}
