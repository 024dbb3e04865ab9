package io.embstore.store;

import io.embstore.store.StoreMapping.Mapping;
import io.embstore.store.StoreMapping.View;
import io.embstore.store.io.MappedFile;
import io.embstore.store.io.MappingAdvice;
import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An embedding table kept in memory-mapped files: row {@code i} is the vector of id (or word) {@code i}.
 *
 * <p>A store is a directory (see docs/FORMAT.md): the matrix is a NumPy {@code .npy} file that
 * {@code numpy.load(path, mmap_mode="r")} maps as it is, the vocabulary and its hash index are mapped files, and a
 * small mapped control block lets one writer publish to any number of reader processes. Opening reads no per-row
 * data and builds nothing on the heap that grows with the table.
 *
 * <p>This type is the reader: open, read, gather, look up words, refresh, query. Its subclass {@link WritableStore}
 * (from {@link #openForWriting} or {@link StoreBuilder#create()}) adds the writes; what a reader cannot do is not in
 * its type.
 *
 * <pre>{@code
 * try (WritableStore table = EmbeddingStore.builder(dir).rows(1_000_000).dim(128).init(Init.normal(42)).create()) {
 *     table.write(7, vector);
 * }
 * try (EmbeddingStore table = EmbeddingStore.open(dir)) {          // any number of processes
 *     float[] batch = new float[ids.length * table.dim()];
 *     table.gather(ids, batch);                                     // nn.Embedding's forward
 *     List<Neighbor> near = table.mostSimilar("king", 10);          // gensim's most_similar
 * }
 * }</pre>
 *
 * <p>Threads: reads may run on any number of threads. Writes to different rows may run on different threads at once;
 * one row is written by one thread at a time. {@link WritableStore#append} and {@link WritableStore#flush} are
 * serialised internally.
 * The store object alone owns its mappings: {@link #close()} unmaps everything, after which reads fail with
 * {@link IllegalStateException} rather than touching unmapped memory.
 */
public sealed class EmbeddingStore implements AutoCloseable permits WritableStore {
    /** Most rows a store can hold (row numbers are stored as unsigned 32-bit in word records). */
    public static final long MAX_ROWS = Integer.MAX_VALUE;
    /** Most dimensions a store can have. */
    public static final int MAX_DIM = 1 << 16;
    /** Longest word a store's vocabulary takes, in bytes of UTF-8. */
    public static final int MAX_WORD_BYTES = VocabularyIndex.MAX_WORD_BYTES;

    static final String MATRIX_FILE = "matrix.npy";
    static final String CONTROL_FILE = "control.bin";


    final Path dir;
    final Manifest manifest;
    final int dim;
    final Dtype dtype;
    final long rowBytes;
    final long paddingIndex;
    /** vocab.words, resolved once: lookups name it only in error messages, and a Path per call showed in profiles. */
    final Path wordsFile;
    /** Owns every mapping of this object; closed (once) by {@link #close()}. */
    final Arena arena;
    /** Advice for this object's mappings; logs a refusal once for the store. */
    final MappingAdvice advice;
    final ControlBlock control;
    /** The rows listed in damaged.rows, as this object knows them. */
    final DamagedRows damaged;
    /** Guards replacing {@link #view}: the writer's appends and growth, a reader's refresh. */
    final Object appendLock = new Object();
    volatile View view;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final RowReader reader;
    private final SimilaritySearch similarity;
    /** The n-gram buckets of a store converted from a fastText .bin model, or null. */
    private final Subwords subwords;

    EmbeddingStore(Path dir, Manifest manifest, Arena arena, MappingAdvice advice, ControlBlock control, View view,
                   DamagedRows damaged) {
        this.dir = dir;
        this.advice = advice;
        this.damaged = damaged;
        this.manifest = manifest;
        this.dim = manifest.dim();
        this.dtype = manifest.dtype();
        this.rowBytes = manifest.dtype().rowBytes(manifest.dim());
        this.paddingIndex = manifest.paddingIndex();
        this.wordsFile = dir.resolve(VocabularyIndex.WORDS_FILE);
        this.arena = arena;
        this.control = control;
        this.view = view;
        this.reader = new RowReader(dir, dtype, dim, control, damaged, advice);
        this.subwords = manifest.subwords() == null ? null : new Subwords(this, manifest.subwords());
        this.similarity = new SimilaritySearch(this, reader);
    }

    /**
     * Whether {@code dir} looks like a store: it holds a manifest whose first line is the store's magic (nothing else
     * is checked; {@link #open} checks everything). An unreadable manifest counts as a store, the safe answer for a
     * caller about to write into the directory.
     */
    public static boolean isStore(Path dir) {
        Path manifest = dir.resolve(Manifest.FILE);
        if (!Files.isRegularFile(manifest)) {
            return false;
        }
        byte[] magic = Manifest.MAGIC.getBytes(StandardCharsets.US_ASCII);
        try (InputStream in = Files.newInputStream(manifest)) {
            return Arrays.equals(in.readNBytes(magic.length), magic);
        } catch (IOException e) {
            return true;
        }
    }

    /** Starts describing a new store at {@code dir}, which must not exist yet. */
    public static StoreBuilder builder(Path dir) {
        return new StoreBuilder(dir);
    }

    /**
     * Opens a store read-only. Any number of processes may do so while one writer changes it; they see its writes to
     * existing rows at once and its appended rows after {@link #refresh()}.
     */
    public static EmbeddingStore open(Path dir) {
        return open(dir, false);
    }

    /**
     * Opens a store for writing. Only one process may hold a store for writing; a second one fails at once with a
     * {@link StoreException} naming the holder's pid. Rows a previous writer died in the middle of are recorded as
     * damaged (see {@link #damagedRows()}).
     */
    public static WritableStore openForWriting(Path dir) {
        return (WritableStore) open(dir, true);
    }

    private static EmbeddingStore open(Path dir, boolean writable) {
        Objects.requireNonNull(dir, "dir");
        if (!Files.isDirectory(dir)) {
            boolean exists = Files.exists(dir);
            throw new StoreException(exists ? StoreException.Kind.CORRUPT : StoreException.Kind.NOT_FOUND, dir,
                    exists ? "not an embstore store: not a directory" : "no such store directory");
        }
        Manifest manifest = Manifest.read(dir);
        WriterLock lock = writable ? WriterLock.acquire(dir) : null;
        Arena arena = Arena.ofShared();
        MappingAdvice advice = new MappingAdvice(dir);
        try {
            MemorySegment controlSeg = MappedFile.map(arena, dir.resolve(CONTROL_FILE), ControlBlock.BYTES, ControlBlock.BYTES, writable);
            ControlBlock control = new ControlBlock(controlSeg);
            control.check(dir.resolve(CONTROL_FILE));
            // live_rows first: it is released last by the writer, so what it covers is visible after this acquire.
            long rows = control.liveRows();
            long capacity = control.capacity();
            long wordBytes = control.wordBytes();
            Mapping mapping = StoreMapping.mapChecked(arena, dir, manifest, rows, capacity, wordBytes, writable, advice);
            if (!writable) {
                return new EmbeddingStore(dir, manifest, arena, advice, control, new View(mapping, rows, wordBytes),
                        DamagedRows.forReader(dir, control));
            }
            DamagedRows damaged = WritableStore.takeOver(dir, control, mapping, rows, capacity);
            return new WritableStore(dir, manifest, arena, advice, control, lock, new View(mapping, rows, wordBytes), damaged);
        } catch (RuntimeException e) {
            arena.close();
            if (lock != null) {
                try {
                    lock.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------------ shape

    /** Rows visible to this object: all of them for the writer; as of the last {@link #refresh()} for a reader. */
    public final long rows() {
        return view.rows();
    }

    /** Dimensions of every row. */
    public final int dim() {
        return dim;
    }

    /** Element type of the matrix file. */
    public final Dtype dtype() {
        return dtype;
    }

    /** The store directory. */
    public final Path path() {
        return dir;
    }

    /** Whether this object holds the writer lock: whether it is a {@link WritableStore}. */
    public final boolean isWritable() {
        return this instanceof WritableStore;
    }

    /** Whether the store has a vocabulary (word to row). */
    public final boolean hasVocabulary() {
        return manifest.vocabulary();
    }

    /**
     * The n-gram buckets that answer words this store does not have, when it was converted from a fastText
     * {@code .bin} model; empty otherwise. With them, {@link #mostSimilar(String, int)}, {@link #analogy} and
     * {@link #similarity} take an absent word's vector from its n-grams (check {@link #contains} first to refuse
     * instead), every similarity query ranks word rows only, and {@link #rowOf} never answers a bucket row.
     */
    public final java.util.Optional<Subwords> subwords() {
        return java.util.Optional.ofNullable(subwords);
    }

    /** The padding row, or -1 when there is none. */
    public final long paddingIndex() {
        return paddingIndex;
    }

    /**
     * The writer's publication counter, read from the shared control block (so a reader sees it move without
     * {@link #refresh()}). It grows at every {@link WritableStore#publish()}, {@link WritableStore#flush()} and append.
     */
    public final long generation() {
        ensureOpen();
        return control.generation();
    }

    // ------------------------------------------------------------------------------------------------ vocabulary

    /** The row of {@code word}, or -1 when the store does not have it (or a reader has not refreshed since it was appended). */
    public final long rowOf(String word) {
        return rowOf(view, word);
    }

    /**
     * The rows of {@code words[0, count)} into {@code rows}, -1 for a word the store does not have: what a tokenizer
     * feeding {@link #gather} wants. Faster than a loop of {@link #rowOf} on a large vocabulary: the words are looked
     * up in blocks whose memory reads overlap.
     */
    public final void rowsOf(String[] words, int count, long[] rows) {
        Objects.checkFromIndexSize(0, count, words.length);
        Objects.checkFromIndexSize(0, count, rows.length);
        View v = view;
        Mapping m = vocabularyMapping(v);
        m.index().lookupAll(words, count, rows, m.words(), v.wordBytes(), v.rows(), wordsFile);
        for (int i = 0; subwords != null && i < count; i++) {
            rows[i] = wordRowOrAbsent(rows[i]); // a bucket row's placeholder name is no word
        }
    }

    /** Whether the store has {@code word}. */
    public final boolean contains(String word) {
        return rowOf(word) >= 0;
    }

    /** The word of {@code row}. */
    public final String word(long row) {
        View v = view;
        vocabularyMapping(v);
        Objects.checkIndex(row, v.rows());
        return word(v, row);
    }

    private Mapping vocabularyMapping(View v) {
        ensureOpen();
        if (!manifest.vocabulary()) {
            throw new IllegalStateException(dir + " has no vocabulary: it is an id-indexed table");
        }
        return v.mapping();
    }

    // ------------------------------------------------------------------------------------------------ reads

    /** Copies row {@code row} into {@code dst[0, dim)}, never half old and half new. No allocation. */
    public final void read(long row, float[] dst) {
        read(row, dst, 0, ReadMode.CONSISTENT);
    }

    /** Copies row {@code row} into {@code dst[offset, offset + dim)}. No allocation. */
    public final void read(long row, float[] dst, int offset, ReadMode mode) {
        View v = view;
        ensureOpen();
        Objects.checkIndex(row, v.rows());
        Objects.checkFromIndexSize(offset, dim, dst.length);
        reader.copyRow(v.mapping(), row, dst, null, offset, mode);
    }

    /**
     * A zero-copy, read-only view of row {@code row} in the matrix file, in the store's dtype (little-endian; for q8/q4
     * the row's scale, bias and codes, docs/FORMAT.md). It
     * reads the live mapping, so a concurrent write may show through half done: use {@link #read} for a consistent
     * copy. The view is valid until this store is closed.
     */
    public final MemorySegment rowSegment(long row) {
        View v = view;
        ensureOpen();
        Objects.checkIndex(row, v.rows());
        return v.mapping().matrix().asSlice(NpyHeader.BYTES + row * rowBytes, rowBytes).asReadOnly();
    }

    /**
     * Touches the first and last byte of rows {@code rows[0, count)} in the mapping and returns a value derived from
     * them (for the caller to keep, so the loads are not dropped): a hint before reading those rows one at a time. The
     * loads are independent, so their cache and TLB misses overlap instead of each read waiting for its own (the
     * approximate-neighbour index's graph walk). Unlike {@link #rowSegment} it allocates nothing.
     *
     * @throws IndexOutOfBoundsException if a row is outside {@code [0, rows())}
     */
    public final int touchRows(int[] rows, int count) {
        View v = view;
        ensureOpen();
        Objects.checkFromIndexSize(0, count, rows.length);
        MemorySegment matrix = v.mapping().matrix();
        long n = v.rows();
        int s = 0;
        for (int i = 0; i < count; i++) {
            long at = NpyHeader.BYTES + Objects.checkIndex(rows[i], n) * rowBytes;
            s += matrix.get(ValueLayout.JAVA_BYTE, at) + matrix.get(ValueLayout.JAVA_BYTE, at + rowBytes - 1);
        }
        return s;
    }

    /**
     * Tells the system that rows {@code [fromRow, toRow)} will be read soon: their pages start coming in from the disk
     * in the background ({@code MADV_WILLNEED}). For a caller that reads a range of rows front to back from a table
     * that may not be in memory, such as an export: the store's mappings are advised for random row reads (a fault
     * reads its own page only), so a pass over a cold table without this reads one page at a time. Gathers, similarity
     * queries and {@link #verify()} ask for what they need themselves. Costs a system call (a few microseconds per MiB
     * even when the rows are in memory, benchmarks/results/larger-than-memory.md); does nothing where the system takes
     * no advice.
     *
     * @throws IndexOutOfBoundsException if the range is not within {@code [0, rows())}
     */
    public final void willRead(long fromRow, long toRow) {
        View v = view;
        ensureOpen();
        Objects.checkFromToIndex(fromRow, toRow, v.rows());
        advice.willNeed(v.mapping().matrix(), NpyHeader.BYTES + fromRow * rowBytes, (toRow - fromRow) * rowBytes,
                dir.resolve(MATRIX_FILE));
        advice.willNeed(v.mapping().seq(), fromRow * Integer.BYTES, (toRow - fromRow) * Integer.BYTES,
                dir.resolve(RowSeqlock.FILE));
    }

    /**
     * A read-only view of the rows' write counters ({@code rows.seq}, docs/FORMAT.md): one little-endian int32 per row
     * of {@code [0, rows())}, which changes at every write of its row (odd while the write is under way). A structure
     * derived from the rows (the approximate-neighbour index) keeps a copy and later finds the rows written since by
     * comparing: only equality means anything. The view is valid until this store is closed.
     */
    public final MemorySegment rowVersions() {
        View v = view;
        ensureOpen();
        return v.mapping().seq().asSlice(0, RowSeqlock.fileBytes(v.rows())).asReadOnly();
    }

    /**
     * {@code nn.Embedding}'s forward: row {@code ids[i]} goes to {@code dst[i * dim, (i + 1) * dim)}, each row read
     * consistently.
     *
     * @throws IndexOutOfBoundsException naming the id, its position and the row count, before anything is written
     */
    public final void gather(int[] ids, float[] dst) {
        gather(ids, dst, ReadMode.CONSISTENT);
    }

    /** As {@link #gather(int[], float[])}, with 64-bit ids (a flattened int64 index tensor). */
    public final void gather(long[] ids, float[] dst) {
        gather(ids, dst, ReadMode.CONSISTENT);
    }

    /** As {@link #gather(int[], float[])}, choosing the read mode. */
    public final void gather(int[] ids, float[] dst, ReadMode mode) {
        gatherRows(ids, null, ids.length, dst, null, dst.length * (long) Float.BYTES, mode);
    }

    /** As {@link #gather(long[], float[])}, choosing the read mode. */
    public final void gather(long[] ids, float[] dst, ReadMode mode) {
        gatherRows(null, ids, ids.length, dst, null, dst.length * (long) Float.BYTES, mode);
    }

    /** Gathers into a segment of at least {@code ids.length * dim} native-order float32 values (for example a tensor's). */
    public final void gather(int[] ids, MemorySegment dst, ReadMode mode) {
        gatherRows(ids, null, ids.length, null, dst, dst.byteSize(), mode);
    }

    /** Gathers 64-bit ids into a segment of at least {@code ids.length * dim} native-order float32 values. */
    public final void gather(long[] ids, MemorySegment dst, ReadMode mode) {
        gatherRows(null, ids, ids.length, null, dst, dst.byteSize(), mode);
    }

    private void gatherRows(int[] ints, long[] longs, int n, float[] dstArray, MemorySegment dstSegment, long dstBytes,
                            ReadMode mode) {
        View v = view;
        ensureOpen();
        reader.gather(v.mapping(), v.rows(), ints, longs, n, dstArray, dstSegment, dstBytes, mode);
    }

    /**
     * The damaged rows, ascending: rows whose last write did not complete (a writer died in the middle of the row, or
     * the write failed), so that their content is unknown. Consistent reads of them throw a {@link StoreException}
     * at once, similarity queries skip them, {@link #verify()} lists them; {@link WritableStore#write} makes a row whole again.
     * Empty for a healthy store. Rows a dead writer left half-written are listed once a writer has opened the store.
     */
    public final long[] damagedRows() {
        ensureOpen();
        View v = view;
        MemorySegment seq = v.mapping().seq();
        // Listed and still odd: a listed row whose counter is even was rewritten (by a writer that died before it
        // could take it off the list).
        return Arrays.stream(damaged.rows())
                .filter(r -> r < v.rows() && (RowSeqlock.readBegin(seq, r) & 1) != 0)
                .toArray();
    }

    /** How many rows {@link #damagedRows()} would list, cheaply: 0 (the usual answer) costs one memory read. */
    public final long damagedRowCount() {
        ensureOpen();
        return damaged.rows().length == 0 ? 0 : damagedRows().length;
    }

    /**
     * Throws the {@link StoreException} a consistent read of {@code row} would throw if the row is damaged; returns if
     * it is not. For writers that read rows relaxed (a trainer) and must not build on an unknown row.
     */
    public final void requireHealthy(long row) {
        ensureOpen();
        View v = view;
        Objects.checkIndex(row, v.rows());
        if (damaged.contains(row) && (RowSeqlock.readBegin(v.mapping().seq(), row) & 1) != 0) {
            throw reader.damagedRowError(row);
        }
    }

    // ------------------------------------------------------------------------------------------------ similarity

    /**
     * The {@code k} rows most similar to {@code word} by cosine, best first, without the word itself: gensim's
     * {@code most_similar(word, topn=k)}. See {@link #mostSimilar(float[][], int, Set)} for how rows are scanned.
     *
     * @throws IllegalArgumentException if the store does not have the word (and has no {@link #subwords()} to build
     *                                  it from), or its vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public final List<Neighbor> mostSimilar(String word, int k) {
        return similarity.mostSimilar(word, k);
    }

    /**
     * {@link #mostSimilar(String, int)} for several words in one pass over the matrix: entry {@code i} holds the
     * {@code k} rows most similar to {@code words.get(i)}, without that word (the other words may appear).
     *
     * @throws IllegalArgumentException naming a word the store does not have (without {@link #subwords()}), or one
     *                                  whose vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public final List<List<Neighbor>> mostSimilar(List<String> words, int k) {
        return mostSimilar(words, k, Long.MAX_VALUE);
    }

    /**
     * {@link #mostSimilar(List, int)} with only rows {@code [0, candidateRows)} ranked: for a table whose first rows
     * are words and whose later rows are something else (a text classifier's n-gram buckets), so that a word query
     * answers words. The scan stops at {@code candidateRows}; the query words may be any rows.
     *
     * @throws IllegalArgumentException naming a word the store does not have (without {@link #subwords()}), or one
     *                                  whose vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public final List<List<Neighbor>> mostSimilar(List<String> words, int k, long candidateRows) {
        return similarity.mostSimilar(words, k, candidateRows);
    }

    /**
     * The {@code k} rows most similar to {@code vector} by cosine, best first, leaving out the words in
     * {@code exclude} (words the store does not have are ignored).
     *
     * @throws IllegalArgumentException if the vector's length is not {@code dim}, or it is zero or not finite
     */
    public final List<Neighbor> mostSimilar(float[] vector, int k, Set<String> exclude) {
        return mostSimilar(new float[][] {vector}, k, exclude).get(0);
    }

    /**
     * The {@code k} rows most similar to each query by cosine, best first, leaving out the words in {@code exclude}.
     * All queries are answered in one pass over the matrix, so a batch costs little more than one query until the
     * arithmetic, not the memory, is the limit.
     *
     * <p>The scan is brute force over every row on all processors (one thread for small tables), with the Vector API
     * kernel when {@code jdk.incubator.vector} is present (see the log), and ranks rows by {@code dot(q, x) / |x|}
     * accumulated in float, with norms from {@code norms.f32} when they are current. The padding row, damaged rows
     * (see {@link #damagedRows()}) and rows with a zero vector are never returned. The similarities returned are then
     * recomputed in double from a consistent copy of each returned row, so they are exact to float precision even
     * while the writer changes rows; rows whose similarities differ by less than float rounding (about 1e-6) may come
     * in either order, or trade the last place.
     * Rows are scanned without the seqlock: a row written during the scan is ranked with its old or new values.
     *
     * @param queries vectors of {@code dim} values each, not zero
     * @param k       results per query; fewer when the store has fewer eligible rows
     * @param exclude words never returned (words the store does not have are ignored); must be empty for a store
     *                without a vocabulary
     * @throws IllegalArgumentException naming the query whose length is not {@code dim}, or which is zero or not finite
     */
    public final List<List<Neighbor>> mostSimilar(float[][] queries, int k, Set<String> exclude) {
        return similarity.mostSimilar(queries, k, exclude);
    }

    /**
     * Analogy "a is to b as c is to ?": the {@code k} rows most similar to {@code b - a + c}, computed on unit vectors,
     * leaving out a, b and c. This is gensim's {@code most_similar(positive=[b, c], negative=[a], topn=k)}: the mean of
     * the unit vectors of b, c and minus a, normalised, then cosine (the mean and the normalisation do not change a
     * cosine ranking, so this sums the unit vectors).
     *
     * @throws IllegalArgumentException naming a word the store does not have (without {@link #subwords()}), or one
     *                                  whose vector is zero
     */
    public final List<Neighbor> analogy(String a, String b, String c, int k) {
        return analogy(a, b, c, k, Long.MAX_VALUE);
    }

    /**
     * {@link #analogy(String, String, String, int)} with only rows {@code [0, candidateRows)} ranked (see
     * {@link #mostSimilar(List, int, long)}).
     */
    public final List<Neighbor> analogy(String a, String b, String c, int k, long candidateRows) {
        return similarity.analogy(a, b, c, k, candidateRows);
    }

    /**
     * Cosine similarity of two words' vectors, computed in double from consistent copies: gensim's
     * {@code similarity(w1, w2)}.
     *
     * @throws IllegalArgumentException naming a word the store does not have (without {@link #subwords()}), or one
     *                                  whose vector is zero
     */
    public final float similarity(String w1, String w2) {
        return similarity.similarity(w1, w2);
    }

    /**
     * Maps {@code norms.f32} when the writer created it after this reader opened; the writer brings it up to date
     * instead.
     */
    void prepareNorms() {
        if (view.mapping().norms() == null && control.normsRows() > 0) {
            synchronized (appendLock) {
                View v = view;
                if (v.mapping().norms() == null) {
                    MemorySegment norms = StoreMapping.mapNormsIfPresent(arena, dir, v.mapping().capacity(), false);
                    if (norms != null) {
                        view = new View(v.mapping().withNorms(norms), v.rows(), v.wordBytes());
                    }
                }
            }
        }
    }

    /** Whether no writer holds the store or the one named in the control block is running. */
    final boolean writerAliveOrNone() {
        long pid = control.writerPid();
        return pid == 0 || pid == ProcessHandle.current().pid()
                || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    final long rowOf(View v, String word) {
        return wordRowOrAbsent(indexedRowOf(v, word));
    }

    /** The row the vocabulary index gives {@code word}, a bucket row's placeholder name included (for verify). */
    final long indexedRowOf(View v, String word) {
        Mapping m = vocabularyMapping(v);
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        return m.index().lookup(utf8, m.words(), v.wordBytes(), v.rows(), wordsFile);
    }

    /** {@code row}, or -1 for an n-gram bucket's row: its vocabulary entry only names it (docs/FORMAT.md). */
    private long wordRowOrAbsent(long row) {
        return subwords != null && subwords.layout().isBucketRow(row) ? -1 : row;
    }

    final String word(View v, long row) {
        Mapping m = vocabularyMapping(v);
        long record = m.offsets().get(VocabularyIndex.LONG, row * Long.BYTES);
        return VocabularyIndex.word(m.words(), record, v.wordBytes(), row, wordsFile);
    }

    /** Makes every gather ask for its rows ahead, as on a cold table: for tests of that path ({@link RowReader}). */
    void gatherAlwaysAhead(boolean always) {
        reader.alwaysAhead(always);
    }

    /** Makes this store's queries use {@code kernel} (null: the one selected for the JVM), so tests can run both. */
    void useKernel(SimilarityKernel kernel) {
        similarity.useKernel(kernel);
    }

    // ------------------------------------------------------------------------------------------------ checks

    /**
     * The CRC-32C of the matrix file as recorded in {@code checksums.txt} when the store was made (what {@link #verify}
     * checks), or empty when none is recorded (opening a store for writing drops the record). Reads only that small
     * file: a cheap fingerprint of the table's values, for recording where something was derived from.
     *
     * @throws StoreException of kind CORRUPT if the record is damaged, IO if it cannot be read
     */
    public final OptionalLong recordedMatrixChecksum() {
        ensureOpen();
        Map<String, StoreChecksums.Entry> entries = StoreChecksums.read(dir);
        StoreChecksums.Entry matrix = entries == null ? null : entries.get(MATRIX_FILE);
        return matrix == null ? OptionalLong.empty() : OptionalLong.of(matrix.crc());
    }

    /**
     * Reads the whole store and checks it: the recorded checksums of every data file (if still current), every word
     * record and that each word's lookup finds its own row, that no row was left half-written, each current norm in
     * norms.f32 against its row, and the matrix values.
     * Reads every byte, so it takes as long as reading the files.
     */
    public final Verification verify() {
        return new StoreVerifier(this).verify();
    }

    /**
     * Picks up what the writer appended since this reader opened or last refreshed: new rows, grown files, a rebuilt
     * index. Cheap when nothing changed (a few reads of the control block). Returns whether the row count changed.
     * For the writer it does nothing and returns false.
     */
    public boolean refresh() {
        ensureOpen();
        synchronized (appendLock) {
            View v = view;
            long rows = control.liveRows();
            if (rows == v.rows()) {
                return false;
            }
            long capacity = control.capacity();
            long wordBytes = control.wordBytes();
            if (rows < v.rows() || rows > capacity || wordBytes < v.wordBytes()) {
                throw new StoreException(StoreException.Kind.CORRUPT, dir.resolve(CONTROL_FILE),
                        "control block went backwards or is damaged: live_rows "
                        + rows + ", capacity " + capacity + ", word_bytes " + wordBytes);
            }
            Mapping m = StoreMapping.mapAll(arena, dir, manifest, capacity, wordBytes, v.mapping(), false, advice);
            if (manifest.vocabulary() && control.indexEpoch() != m.index().epoch()) {
                m = new Mapping(m.capacity(), m.matrix(), m.seq(), m.offsets(), m.words(), StoreMapping.mapIndex(arena, dir, false),
                        m.norms());
            }
            view = new View(m, rows, wordBytes);
            return true;
        }
    }

    final void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException(dir + " is closed");
        }
    }

    /**
     * Unmaps every file (a {@link WritableStore} flushes first and releases the writer lock). Idempotent. Segments from
     * {@link #rowSegment} are invalid afterwards.
     */
    @Override
    public void close() {
        if (markClosed()) {
            unmap();
        }
    }

    /** Marks this object closed; false if it was already. */
    final boolean markClosed() {
        return closed.compareAndSet(false, true);
    }

    /** Unmaps every file; reads fail with {@link IllegalStateException} from now on, not with a fault. */
    final void unmap() {
        arena.close();
    }

    @Override
    public String toString() {
        return "EmbeddingStore[" + dir + ", " + rows() + " x " + dim + " " + dtype.label()
                + (isWritable() ? ", writable" : ", read-only") + "]";
    }
}
