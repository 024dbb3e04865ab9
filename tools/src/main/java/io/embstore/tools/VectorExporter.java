package io.embstore.tools;

import io.embstore.store.EmbeddingStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a store (or some of its rows) as word2vec text, word2vec binary or GloVe text, optionally gzip-compressed.
 *
 * <p>Text values are the shortest decimal that reads back as the same float32 (Java's {@code Float.toString}
 * algorithm), so text to store to text to store is bit-identical. Rows are formatted in blocks on every core and
 * written in order. The output is written to a temporary sibling and renamed into place at the end: an error never
 * leaves a half-written file.
 */
final class VectorExporter {
    private static final int BLOCK_ROWS = 1024;

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
        if (!store.hasVocabulary()) {
            throw new IllegalArgumentException(store.path() + " has no vocabulary: vector files need a word per row");
        }
        Path absolute = out.toAbsolutePath();
        Path temp = absolute.resolveSibling("." + absolute.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        boolean gzip = absolute.getFileName().toString().endsWith(".gz");
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, "embstore-export");
            t.setDaemon(true);
            return t;
        });
        long written = 0;
        try {
            try (OutputStream file = Files.newOutputStream(temp);
                 OutputStream os = gzip ? new GZIPOutputStream(new BufferedOutputStream(file, 1 << 20), 1 << 16)
                         : new BufferedOutputStream(file, 1 << 20)) {
                if (format != VectorFormat.GLOVE) {
                    byte[] header = (rows.size() + " " + store.dim() + "\n").getBytes(StandardCharsets.US_ASCII);
                    os.write(header);
                    written += header.length;
                }
                long blocks = (rows.size() + BLOCK_ROWS - 1) / BLOCK_ROWS;
                ArrayDeque<Future<byte[]>> inFlight = new ArrayDeque<>();
                long next = 0;
                for (long b = 0; b < blocks || !inFlight.isEmpty(); ) {
                    while (b < blocks && inFlight.size() < 4 * Math.max(1, threads)) {
                        long first = b * BLOCK_ROWS;
                        long last = Math.min(rows.size(), first + BLOCK_ROWS);
                        inFlight.add(pool.submit(() -> format(store, rows, first, last, format)));
                        b++;
                    }
                    byte[] block = join(inFlight.poll());
                    os.write(block);
                    written += block.length;
                    long done = Math.min(rows.size(), (next + 1) * BLOCK_ROWS) - next * BLOCK_ROWS;
                    progress.advance(block.length, done);
                    next++;
                }
            }
            try (var ch = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException(absolute + ": cannot write: " + e.getMessage(), e);
        } finally {
            pool.shutdownNow();
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // Best effort: the error that brought us here is the one to report.
            }
        }
    }

    private static byte[] format(EmbeddingStore store, RowSelection rows, long first, long last, VectorFormat format) {
        int dim = store.dim();
        float[] values = new float[dim];
        if (format == VectorFormat.WORD2VEC_BINARY) {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream((int) (last - first) * (dim * 4 + 16));
            ByteBuffer vector = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = first; i < last; i++) {
                long row = rows.row(i);
                store.read(row, values);
                bytes.writeBytes(store.word(row).getBytes(StandardCharsets.UTF_8));
                bytes.write(' ');
                vector.clear();
                vector.asFloatBuffer().put(values);
                bytes.write(vector.array(), 0, dim * 4);
                bytes.write('\n');
            }
            return bytes.toByteArray();
        }
        StringBuilder text = new StringBuilder((int) (last - first) * dim * 10);
        for (long i = first; i < last; i++) {
            long row = rows.row(i);
            store.read(row, values);
            text.append(store.word(row));
            for (float v : values) {
                // StringBuilder.append(float) writes Float.toString's shortest round-tripping digits, without a String.
                text.append(' ').append(v);
            }
            text.append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static <T> T join(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while exporting", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }
}
