package io.embstore.index;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import io.github.jbellis.jvector.graph.GraphIndex;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.NodesIterator;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ForkJoinPool;
import java.util.function.LongConsumer;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.zip.CRC32C;

/**
 * Builds the graph over a store's rows with jvector and writes {@code ann.index} (see {@link AnnFile}) beside the
 * store's files: into a temporary sibling, forced, renamed over the old index, the directory forced. Readers that
 * mapped the old file keep it (the rename does not touch their mapping); a failed build leaves the old index as it was.
 */
final class AnnIndexWriter {
    /** jvector's recommended overflow while inserting (the lists are trimmed back to M at cleanup). */
    private static final float NEIGHBOR_OVERFLOW = 1.2f;
    /** jvector's recommended diversity pruning (alpha > 1 keeps some longer edges, which helps clustered data). */
    private static final float ALPHA = 1.2f;
    /** How many inserted rows one progress report covers. */
    private static final int PROGRESS_STEP = 256;

    private AnnIndexWriter() {
    }

    static void build(EmbeddingStore store, AnnIndexOptions options, LongConsumer progress) {
        Path target = store.path().resolve(AnnFile.NAME);
        long started = System.nanoTime();
        // The versions are taken before any row is read: a row written from here on has a newer version than the
        // one recorded, so queries check it by brute force whatever the graph made of it.
        long generation = store.generation();
        MemorySegment liveVersions = store.rowVersions();
        long rowCount = liveVersions.byteSize() / Integer.BYTES;
        if (rowCount > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(store.path() + " has " + rowCount + " rows, more than an index holds");
        }
        int rows = (int) rowCount;
        int[] versions = liveVersions.toArray(AnnFile.INT);
        int dim = store.dim();

        ForkJoinPool pool = new ForkJoinPool(options.threads());
        try {
            float[] inverseNorms = new float[rows];
            ThreadLocal<float[]> buffers = ThreadLocal.withInitial(() -> new float[dim]);
            pool.submit(() -> IntStream.range(0, rows).parallel()
                    .forEach(r -> inverseNorms[r] = StoreVectors.inverseNorm(store, r, buffers.get()))).join();

            GraphIndex graph;
            int degree = options.m();
            int entry = -1;
            if (rows > 0) {
                StoreVectors vectors = new StoreVectors(store, rows, inverseNorms);
                GraphIndexBuilder builder = new GraphIndexBuilder(
                        BuildScoreProvider.randomAccessScoreProvider(vectors, VectorSimilarityFunction.DOT_PRODUCT),
                        dim, options.m(), options.beam(), NEIGHBOR_OVERFLOW, ALPHA, pool, pool);
                Supplier<RandomAccessVectorValues> perThread = vectors.threadLocalSupplier();
                pool.submit(() -> IntStream.range(0, rows).parallel().forEach(node -> {
                    builder.addGraphNode(node, perThread.get().getVector(node));
                    if (progress != null && node % PROGRESS_STEP == PROGRESS_STEP - 1) {
                        progress.accept(PROGRESS_STEP);
                    }
                })).join();
                if (progress != null) {
                    progress.accept(rows % PROGRESS_STEP);
                }
                builder.cleanup();
                OnHeapGraphIndex built = builder.getGraph();
                graph = built;
                degree = built.maxDegree();
                try (GraphIndex.View view = built.getView()) {
                    entry = view.entryNode();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            } else {
                graph = null;
            }
            write(store, target, graph, rows, degree, entry, versions, generation, options, started);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void write(EmbeddingStore store, Path target, GraphIndex graph, int rows, int degree, int entry,
                              int[] versions, long generation, AnnIndexOptions options, long started) {
        long[] samples = samples(store, rows, versions);
        int sampleCount = samples.length / 3;
        long fileBytes = AnnFile.fileBytes(sampleCount, rows, degree);
        Path temp = null;
        try {
            TempSibling.sweepStale(target);
            temp = TempSibling.createFile(target);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                Body body = new Body(ch, AnnFile.HEADER_BYTES);
                for (int i = 0; i < sampleCount; i++) {
                    body.putLong(samples[3 * i]);
                    body.putInt((int) samples[3 * i + 1]);
                    body.putInt((int) samples[3 * i + 2]);
                }
                for (int v : versions) {
                    body.putInt(v);
                }
                if (graph != null) {
                    try (GraphIndex.View view = graph.getView()) {
                        for (int node = 0; node < rows; node++) {
                            NodesIterator it = view.getNeighborsIterator(node);
                            int count = it.size();
                            if (count > degree) {
                                throw new IllegalStateException("node " + node + " has " + count
                                        + " neighbours after cleanup, more than the degree " + degree);
                            }
                            body.putInt(count);
                            int written = 0;
                            while (it.hasNext()) {
                                body.putInt(it.nextInt());
                                written++;
                            }
                            for (; written < degree; written++) {
                                body.putInt(-1);
                            }
                        }
                    }
                }
                int bodyCrc = body.finish();
                if (body.position != fileBytes) {
                    throw new IllegalStateException("wrote " + body.position + " bytes, the layout says " + fileBytes);
                }
                ByteBuffer header = ByteBuffer.allocate(AnnFile.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                header.putLong((int) AnnFile.MAGIC_AT, AnnFile.MAGIC);
                header.putInt((int) AnnFile.VERSION_AT, AnnFile.VERSION);
                header.putInt((int) AnnFile.HEADER_BYTES_AT, AnnFile.HEADER_BYTES);
                header.putLong((int) AnnFile.ROWS_AT, rows);
                header.putInt((int) AnnFile.DIM_AT, store.dim());
                header.putInt((int) AnnFile.DTYPE_AT, AnnFile.dtypeCode(store.dtype().label()));
                header.putLong((int) AnnFile.GENERATION_AT, generation);
                header.putInt((int) AnnFile.M_AT, options.m());
                header.putInt((int) AnnFile.DEGREE_AT, degree);
                header.putInt((int) AnnFile.BEAM_AT, options.beam());
                header.putInt((int) AnnFile.ENTRY_AT, entry);
                header.putLong((int) AnnFile.PADDING_AT, store.paddingIndex());
                header.putLong((int) AnnFile.VERSIONS_OFFSET_AT, AnnFile.versionsOffset(sampleCount));
                header.putLong((int) AnnFile.ADJACENCY_OFFSET_AT, AnnFile.adjacencyOffset(sampleCount, rows));
                header.putLong((int) AnnFile.FILE_BYTES_AT, fileBytes);
                header.putInt((int) AnnFile.BODY_CRC_AT, bodyCrc);
                header.putInt((int) AnnFile.SAMPLES_AT, sampleCount);
                header.putLong((int) AnnFile.BUILT_MILLIS_AT, System.currentTimeMillis());
                CRC32C crc = new CRC32C();
                crc.update(header.array(), 0, (int) AnnFile.HEADER_CRC_AT);
                header.putInt((int) AnnFile.HEADER_CRC_AT, (int) crc.getValue());
                header.position(0);
                while (header.hasRemaining()) {
                    ch.write(header, header.position());
                }
            }
            DurableFiles.install(temp, target);
            temp = null;
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.of(e), target, "cannot write the index", e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // Swept as stale by the next build once this process is gone.
                }
            }
        }
    }

    /**
     * Up to {@link AnnFile#MAX_SAMPLES} rows spread over the table, as (row, version, CRC-32C of its float32 values)
     * triples: rows read consistently whose version is still the recorded one (a row written since, or damaged, is
     * left out).
     */
    static long[] samples(EmbeddingStore store, int rows, int[] versions) {
        int wanted = Math.min(rows, AnnFile.MAX_SAMPLES);
        long[] out = new long[3 * wanted];
        int n = 0;
        float[] row = new float[store.dim()];
        for (int i = 0; i < wanted; i++) {
            long r = (long) i * rows / wanted;
            if (r == store.paddingIndex()) {
                continue;
            }
            try {
                store.read(r, row);
            } catch (StoreException damaged) {
                continue;
            }
            int now = store.rowVersions().get(AnnFile.INT, r * Integer.BYTES);
            if (now != versions[(int) r] || (now & 1) != 0) {
                continue;
            }
            out[3 * n] = r;
            out[3 * n + 1] = now;
            out[3 * n + 2] = rowCrc(row);
            n++;
        }
        return java.util.Arrays.copyOf(out, 3 * n);
    }

    /** CRC-32C of {@code row}'s float32 values, little-endian. */
    static int rowCrc(float[] row) {
        ByteBuffer b = ByteBuffer.allocate(row.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(row);
        CRC32C crc = new CRC32C();
        crc.update(b);
        return (int) crc.getValue();
    }

    /** The file's body, written through a buffer from the end of the header on, its CRC kept as it goes. */
    private static final class Body {
        private final FileChannel ch;
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C crc = new CRC32C();
        long position;

        Body(FileChannel ch, long start) {
            this.ch = ch;
            this.position = start;
        }

        void putInt(int v) throws IOException {
            if (buffer.remaining() < Integer.BYTES) {
                drain();
            }
            buffer.putInt(v);
        }

        void putLong(long v) throws IOException {
            if (buffer.remaining() < Long.BYTES) {
                drain();
            }
            buffer.putLong(v);
        }

        private void drain() throws IOException {
            buffer.flip();
            crc.update(buffer.duplicate());
            while (buffer.hasRemaining()) {
                position += ch.write(buffer, position);
            }
            buffer.clear();
        }

        int finish() throws IOException {
            drain();
            return (int) crc.getValue();
        }
    }
}
