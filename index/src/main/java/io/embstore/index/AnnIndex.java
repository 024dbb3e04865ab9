package io.embstore.index;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.store.ReadMode;
import io.embstore.store.StoreException;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.similarity.ScoreFunction;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.vector.VectorUtil;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;

/**
 * An approximate-nearest-neighbour index over a store's rows: a jvector graph (Vamana, the graph of DiskANN) built over
 * the mapped rows and kept in the store directory as {@code ann.index} (docs/FORMAT.md), mapped read-only by any number
 * of reader processes.
 *
 * <p>A query walks the graph for candidates, adds every row written since the build (found by comparing each row's
 * write counter with the one recorded at build time, once per store generation), and re-ranks them all by exact cosine
 * from consistent copies of the rows, computed and ordered exactly as {@link EmbeddingStore#mostSimilar} does: when the
 * candidates hold the true top k, the answer equals the exact one, similarities included.
 *
 * <pre>{@code
 * try (EmbeddingStore table = EmbeddingStore.open(dir)) {
 *     AnnIndex.build(table, AnnIndexOptions.defaults(), null).close();   // once; writes dir/ann.index
 *     try (AnnIndex index = AnnIndex.open(table)) {                      // any number of processes
 *         List<Neighbor> near = index.mostSimilar("king", 10, 100);
 *     }
 * }
 * }</pre>
 *
 * <p>Rows written after the build are found once the writer publishes (anything that moves
 * {@link EmbeddingStore#generation()}: {@code publish()}, {@code flush()}, an append), and rows a reader sees after its
 * {@link EmbeddingStore#refresh()}. Many changed rows make queries slower (each is scored by brute force):
 * {@link #changedRowsSinceBuild()} says how many, and a rebuild makes it 0. Past an eighth of the rows a query is
 * answered by the store's exact scan instead, the fallback that is then also the faster path.
 *
 * <p>Threads: queries may run on any number of threads. The index does not own the store: close the index first.
 */
public final class AnnIndex implements AutoCloseable {
    /**
     * The share of changed rows past which a query runs the store's exact scan instead: a changed row is scored one at a
     * time in double from a consistent copy, several times the cost of a row in the scan's SIMD kernel.
     */
    private static final double EXACT_SCAN_SHARE = 1.0 / 8;
    private final EmbeddingStore store;
    private final Path file;
    private final Arena arena;
    private final MemorySegment segment;
    private final int rows;
    private final int dim;
    private final long generation;
    private final int m;
    private final int degree;
    private final int beam;
    private final long builtMillis;
    private final long versionsOffset;
    private final MappedGraph graph;
    private final AtomicBoolean closed = new AtomicBoolean();
    /**
     * One graph searcher per querying thread: a searcher keeps its visited set and heaps between searches (cleared,
     * not reallocated), which a fresh one per query spent a quarter of its time growing.
     */
    private final ThreadLocal<GraphSearcher> searchers;
    /** The rows changed since the build as of one store generation; replaced when the generation moves. */
    private volatile ChangedRows changed;

    private AnnIndex(EmbeddingStore store, Path file, Arena arena, MemorySegment segment) {
        this.store = store;
        this.file = file;
        this.arena = arena;
        this.segment = segment;
        this.rows = (int) segment.get(AnnFile.LONG, AnnFile.ROWS_AT);
        this.dim = store.dim();
        this.generation = segment.get(AnnFile.LONG, AnnFile.GENERATION_AT);
        this.m = segment.get(AnnFile.INT, AnnFile.M_AT);
        this.degree = segment.get(AnnFile.INT, AnnFile.DEGREE_AT);
        this.beam = segment.get(AnnFile.INT, AnnFile.BEAM_AT);
        this.builtMillis = segment.get(AnnFile.LONG, AnnFile.BUILT_MILLIS_AT);
        this.versionsOffset = segment.get(AnnFile.LONG, AnnFile.VERSIONS_OFFSET_AT);
        this.graph = new MappedGraph(segment, file, segment.get(AnnFile.LONG, AnnFile.ADJACENCY_OFFSET_AT), rows,
                degree, segment.get(AnnFile.INT, AnnFile.ENTRY_AT), store);
        this.searchers = ThreadLocal.withInitial(() -> new GraphSearcher(graph));
    }

    /**
     * Builds an index over the store's rows (those it shows now: a reader's as of its last refresh) and writes it into
     * the store directory, atomically replacing any index there (processes that opened the old one keep using it until
     * they open again); returns it opened. The store may be a reader: the index is a file of its own, and the writer may
     * go on writing meanwhile (rows it writes during the build count as changed since the build). Reads every row
     * twice and keeps the graph on the heap while building (about {@code rows * m * 10} bytes).
     *
     * @param progress told how many more rows were inserted, from any build thread; null for none
     * @throws StoreException when the file cannot be written (no space: {@link StoreException.Kind#NO_SPACE})
     * @throws IllegalArgumentException for a store with fastText n-gram rows ({@link EmbeddingStore#subwords()}): the
     *                                  graph would hold and answer its bucket rows, which are not words
     */
    public static AnnIndex build(EmbeddingStore store, AnnIndexOptions options, LongConsumer progress) {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(options, "options");
        if (store.subwords().isPresent()) {
            throw new IllegalArgumentException(subwordsRefused(store));
        }
        AnnIndexWriter.build(store, options, progress);
        return open(store);
    }

    /** Why a store with n-gram bucket rows gets no index, in one line. */
    public static String subwordsRefused(EmbeddingStore store) {
        return store.path() + " holds fastText n-gram bucket rows, which an approximate-neighbour index would answer as"
                + " if they were words: it is not supported on such a store (exact similarity ranks its words only)";
    }

    /** Whether the store directory holds an index file (which {@link #open} then checks). */
    public static boolean exists(EmbeddingStore store) {
        return Files.isRegularFile(store.path().resolve(AnnFile.NAME));
    }

    /**
     * Maps the store's index read-only and checks it: header, sizes and both checksums (reading the whole file once),
     * and that it was built for this store (dim, dtype, rows, sampled rows).
     *
     * @throws StoreException {@link StoreException.Kind#NOT_FOUND} when there is none, {@link StoreException.Kind#CORRUPT}
     *                        naming the file and what is wrong when it is damaged or another store's
     */
    public static AnnIndex open(EmbeddingStore store) {
        Objects.requireNonNull(store, "store");
        Path file = store.path().resolve(AnnFile.NAME);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment segment;
            // Size and mapping from one open file: a rebuild may rename a new file over the name meanwhile.
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < AnnFile.HEADER_BYTES) {
                    throw AnnFile.corrupt(file, "truncated: " + size + " bytes, shorter than the "
                            + AnnFile.HEADER_BYTES + "-byte header");
                }
                segment = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (NoSuchFileException e) {
                throw new StoreException(StoreException.Kind.NOT_FOUND, file,
                        "no approximate-neighbour index: build one with 'embstore index " + store.path() + "'");
            } catch (IOException e) {
                throw new StoreException(StoreException.Kind.of(e), file, "cannot map the index", e);
            }
            AnnIndexCheck.check(store, file, segment);
            return new AnnIndex(store, file, arena, segment);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------------ queries

    /**
     * The {@code k} rows most similar to {@code word} by cosine, best first, without the word itself: the approximate
     * {@link EmbeddingStore#mostSimilar(String, int)}.
     *
     * @param ef candidates the graph search keeps (at least {@code k} are kept): more gives better recall, slower
     * @throws IllegalArgumentException if the store does not have the word, or its vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public List<Neighbor> mostSimilar(String word, int k, int ef) {
        ensureOpen();
        long row = store.rowOf(word);
        if (row < 0) {
            throw new IllegalArgumentException("word '" + word + "' is not in the store " + store.path());
        }
        float[] query = new float[dim];
        store.read(row, query);
        float[] unit = unitQuery(query, "word '" + word + "'");
        if (scanIsCheaper()) {
            checkSearch(k, ef);
            return store.mostSimilar(word, k);
        }
        return search(query, unit, k, ef, new long[] {row});
    }

    /**
     * The {@code k} rows most similar to {@code query} by cosine, best first, leaving out the words in
     * {@code exclude}: the approximate {@link EmbeddingStore#mostSimilar(float[], int, Set)}.
     *
     * @param ef candidates the graph search keeps (at least {@code k} are kept): more gives better recall, slower
     * @throws IllegalArgumentException if the query's length is not {@code dim}, or it is zero or not finite
     */
    public List<Neighbor> search(float[] query, int k, int ef, Set<String> exclude) {
        ensureOpen();
        float[] unit = unitQuery(query, "query");
        if (scanIsCheaper()) {
            checkSearch(k, ef);
            return store.mostSimilar(query, k, exclude);
        }
        long[] excluded = new long[exclude.size()];
        int n = 0;
        for (String word : exclude) {
            long row = store.rowOf(word);
            if (row >= 0) {
                excluded[n++] = row;
            }
        }
        return search(query, unit, k, ef, Arrays.copyOf(excluded, n));
    }

    private static void checkSearch(int k, int ef) {
        if (k < 0) {
            throw new IllegalArgumentException("k must be at least 0: k=" + k);
        }
        if (ef < 1) {
            throw new IllegalArgumentException("ef must be at least 1: ef=" + ef);
        }
    }

    /**
     * Whether so many rows changed since the build that scoring them one by one costs more than the store's own scan
     * of every row (vectorised, on every core): then the exact answer is also the cheaper one.
     */
    private boolean scanIsCheaper() {
        return changedRows().rows().length > EXACT_SCAN_SHARE * store.rows();
    }

    private List<Neighbor> search(float[] query, float[] unit, int k, int ef, long[] excluded) {
        checkSearch(k, ef);
        if (k == 0) {
            return List.of();
        }
        long[] damaged = store.damagedRowCount() == 0 ? new long[0] : store.damagedRows();
        long padding = store.paddingIndex();
        ChangedRows changedNow = changedRows();
        Candidates top = new Candidates(k);
        long[] changedList = changedNow.rows();
        // Only the changed rows can repeat a row of the walk (whose rows are distinct): with none, no set to fill.
        Set<Long> seen = changedList.length == 0 ? null : new HashSet<>();
        float[] row = new float[dim];
        if (rows > 0) {
            // Enough that the excluded rows found by the walk still leave ef of the rest.
            long wanted = Math.min(rows, (long) Math.max(ef, k) + excluded.length + damaged.length + 1);
            SearchResult found = searchers.get().search(new SearchScoreProvider(new QueryScore(unit)), (int) wanted,
                    Bits.ALL);
            for (SearchResult.NodeScore hit : found.getNodes()) {
                if (seen == null || seen.add((long) hit.node)) {
                    consider(hit.node, query, row, excluded, damaged, padding, top);
                }
            }
        }
        // The changed rows are distinct already: only the walk's rows need remembering.
        for (long r : changedList) {
            if (!seen.contains(r)) {
                consider(r, query, row, excluded, damaged, padding, top);
            }
        }
        return top.sorted(store);
    }

    private void consider(long r, float[] query, float[] row, long[] excluded, long[] damaged, long padding,
                          Candidates top) {
        if (r == padding || contains(excluded, r) || contains(damaged, r)) {
            return;
        }
        store.read(r, row);
        double cosine = cosine(query, row);
        if (!Double.isNaN(cosine)) {
            top.offer(r, (float) cosine);
        }
    }

    // ------------------------------------------------------------------------------------------------ what it is

    /** The store generation when the build began. */
    public long builtAtGeneration() {
        return generation;
    }

    /** When the build finished, in milliseconds since the epoch. */
    public long builtAtMillis() {
        return builtMillis;
    }

    /** The rows the graph holds: the store's rows when the build began. */
    public long rowsCovered() {
        return rows;
    }

    /**
     * Rows written or appended since the build, as of the store's current generation (and a reader's last refresh):
     * queries score these by brute force.
     */
    public long changedRowsSinceBuild() {
        ensureOpen();
        return changedRows().rows().length;
    }

    /** The build's M (neighbours per node). */
    public int m() {
        return m;
    }

    /** The build's beam width. */
    public int beam() {
        return beam;
    }

    /** The index file. */
    public Path file() {
        return file;
    }

    /** The index file's size in bytes. */
    public long fileBytes() {
        return segment.byteSize();
    }

    /** Unmaps the index; idempotent. Queries fail with {@link IllegalStateException} afterwards. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "AnnIndex[" + file + ", " + rows + " rows, M " + m + ", built at generation " + generation + "]";
    }

    // ------------------------------------------------------------------------------------------------ internals

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException(file + " is closed");
        }
    }

    private ChangedRows changedRows() {
        ChangedRows c = changed;
        long gen = store.generation();
        long storeRows = store.rows();
        if (c != null && c.generation() == gen && c.storeRows() == storeRows) {
            return c;
        }
        // The generation is read before the versions: a write published after this read is seen now or next time.
        c = ChangedRows.compute(gen, storeRows, segment.asSlice(versionsOffset, (long) rows * Integer.BYTES),
                store.rowVersions());
        changed = c;
        return c;
    }

    /** The query scaled to norm 1, checked as the store checks its queries. */
    private float[] unitQuery(float[] query, String name) {
        if (query.length != dim) {
            throw new IllegalArgumentException(name + " has " + query.length + " values, the store's dim is " + dim);
        }
        double sum = 0;
        for (int i = 0; i < dim; i++) {
            float x = query[i];
            if (!Float.isFinite(x)) {
                throw new IllegalArgumentException(name + " has a non-finite value at " + i + ": " + x);
            }
            sum += (double) x * x;
        }
        if (sum == 0) {
            throw new IllegalArgumentException(name + " is a zero vector: its cosine similarity is undefined");
        }
        double inverse = 1 / Math.sqrt(sum);
        float[] unit = new float[dim];
        for (int i = 0; i < dim; i++) {
            unit[i] = (float) (query[i] * inverse);
        }
        return unit;
    }

    /** Cosine in double, as the store's exact path computes it; NaN when the row is zero or not finite. */
    static double cosine(float[] q, float[] x) {
        double dot = 0;
        double qq = 0;
        double xx = 0;
        for (int i = 0; i < q.length; i++) {
            dot += (double) q[i] * x[i];
            qq += (double) q[i] * q[i];
            xx += (double) x[i] * x[i];
        }
        if (xx == 0 || !Double.isFinite(xx)) {
            return Double.NaN;
        }
        return Math.max(-1, Math.min(1, dot / (Math.sqrt(qq) * Math.sqrt(xx))));
    }

    private static boolean contains(long[] rows, long row) {
        for (long r : rows) {
            if (r == row) {
                return true;
            }
        }
        return false;
    }

    /**
     * The graph walk's score: the cosine of the unit query with a row read from the mapping (relaxed: the final
     * ranking rereads it consistently), as jvector's {@code (1 + cos) / 2}; a zero or non-finite row scores lowest.
     */
    private final class QueryScore implements ScoreFunction.ExactScoreFunction {
        private final VectorFloat<?> query;
        private final float[] buffer = new float[dim];
        private final VectorFloat<?> row = StoreVectors.TYPES.createFloatVector(buffer);

        QueryScore(float[] unit) {
            this.query = StoreVectors.TYPES.createFloatVector(unit);
        }

        @Override
        public float similarityTo(int node) {
            store.read(node, buffer, 0, ReadMode.RELAXED);
            float dot = VectorUtil.dotProduct(query, row);
            float squares = VectorUtil.dotProduct(row, row);
            if (!(squares > 0) || !Float.isFinite(squares)) {
                return 0f;
            }
            return (1 + dot / (float) Math.sqrt(squares)) / 2;
        }
    }

    /** The best {@code k} (row, similarity) pairs so far, in the store's order: similarity descending, then row. */
    private static final class Candidates {
        private final int k;
        private final List<long[]> kept = new ArrayList<>();
        private final java.util.PriorityQueue<long[]> worstFirst;

        Candidates(int k) {
            this.k = k;
            // (row, float bits of similarity); the head is the one the final order puts last.
            this.worstFirst = new java.util.PriorityQueue<>((a, b) -> -order(a, b));
        }

        static int order(long[] a, long[] b) {
            int bySimilarity = Float.compare(Float.intBitsToFloat((int) b[1]), Float.intBitsToFloat((int) a[1]));
            return bySimilarity != 0 ? bySimilarity : Long.compare(a[0], b[0]);
        }

        void offer(long row, float similarity) {
            long[] c = {row, Float.floatToIntBits(similarity)};
            if (worstFirst.size() < k) {
                worstFirst.add(c);
            } else if (order(c, worstFirst.peek()) < 0) {
                worstFirst.poll();
                worstFirst.add(c);
            }
        }

        List<Neighbor> sorted(EmbeddingStore store) {
            kept.addAll(worstFirst);
            kept.sort(Candidates::order);
            List<Neighbor> out = new ArrayList<>(kept.size());
            for (long[] c : kept) {
                out.add(new Neighbor(c[0], store.hasVocabulary() ? store.word(c[0]) : null,
                        Float.intBitsToFloat((int) c[1])));
            }
            return List.copyOf(out);
        }
    }
}
