package io.embstore.store;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.LongStream;

/**
 * An embedding table kept in memory-mapped files: row {@code i} is the vector of id (or word) {@code i}.
 *
 * <p>A store is a directory (see docs/FORMAT.md): the matrix is a NumPy {@code .npy} file that
 * {@code numpy.load(path, mmap_mode="r")} maps as it is, the vocabulary and its hash index are mapped files, and a
 * small mapped control block lets one writer publish to any number of reader processes. Opening reads no per-row
 * data and builds nothing on the heap that grows with the table.
 *
 * <pre>{@code
 * try (EmbeddingStore table = EmbeddingStore.builder(dir).rows(1_000_000).dim(128).init(Init.normal(42)).create()) {
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
 * one row is written by one thread at a time. {@link #append} and {@link #flush} are serialised internally.
 * The store object alone owns its mappings: {@link #close()} unmaps everything, after which reads fail with
 * {@link IllegalStateException} rather than touching unmapped memory.
 */
public final class EmbeddingStore implements AutoCloseable {
    /** Most rows a store can hold (row numbers are stored as unsigned 32-bit in word records). */
    public static final long MAX_ROWS = Integer.MAX_VALUE;
    /** How far ahead of an append its rows' disk blocks are reserved, in bytes of matrix rows. */
    private static final long RESERVE_STEP = 16L << 20;
    /** Most dimensions a store can have. */
    public static final int MAX_DIM = 1 << 16;
    /** Longest word a store's vocabulary takes, in bytes of UTF-8. */
    public static final int MAX_WORD_BYTES = VocabularyIndex.MAX_WORD_BYTES;

    static final String MATRIX_FILE = "matrix.npy";
    static final String CONTROL_FILE = "control.bin";

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_NATIVE_U = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Spins before a reader starts checking whether the writer of a row still lives. */
    private static final int SPINS_BEFORE_CHECK = 1 << 12;
    /** Longest a reader waits for one row to be written before it gives up. */
    private static final long ROW_WAIT_NANOS = 10_000_000_000L;

    /** Element type of the matrix. Reads always give float32. */
    public enum Dtype {
        /** IEEE binary32, NumPy {@code <f4}. */
        F32("f32", "<f4", 4),
        /** IEEE binary16, NumPy {@code <f2}: half the bytes, about 3 significant digits. */
        F16("f16", "<f2", 2);

        private final String label;
        private final String npyDescr;
        private final int bytes;

        Dtype(String label, String npyDescr, int bytes) {
            this.label = label;
            this.npyDescr = npyDescr;
            this.bytes = bytes;
        }

        /** The name used in manifests and on the command line: {@code f32} or {@code f16}. */
        public String label() {
            return label;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }

        String npyDescr() {
            return npyDescr;
        }

        /** The dtype named {@code label} ({@code f32}, {@code f16}), or null. */
        public static Dtype fromLabel(String label) {
            for (Dtype d : values()) {
                if (d.label.equals(label)) {
                    return d;
                }
            }
            return null;
        }

        static Dtype fromNpyDescr(String descr) {
            for (Dtype d : values()) {
                if (d.npyDescr.equals(descr)) {
                    return d;
                }
            }
            return null;
        }
    }

    /**
     * How a read treats a row that a writer may be changing at the same moment.
     */
    public enum ReadMode {
        /** Checks the row's sequence counter and retries, so a row is never half old and half new. */
        CONSISTENT,
        /** Copies without the check: for training loops that own the table or do not care. */
        RELAXED
    }

    /**
     * How a new store's rows start. Every initialiser is deterministic for a seed, whatever the number of threads.
     */
    public sealed interface Init {
        /** Normal(0, 1): PyTorch's {@code nn.Embedding} default. */
        static Init normal(long seed) {
            return new Normal(0, 1, seed);
        }

        /** Normal(mean, std). */
        static Init normal(double mean, double std, long seed) {
            return new Normal(mean, std, seed);
        }

        /** Uniform(-0.05, 0.05): Keras' {@code Embedding} default. */
        static Init kerasUniform(long seed) {
            return new Uniform(-0.05, 0.05, seed);
        }

        /** Uniform(low, high). */
        static Init uniform(double low, double high, long seed) {
            return new Uniform(low, high, seed);
        }

        /** All zeros: nothing is written, the blocks are reserved (a later write cannot fault on a full disk). */
        static Init zeros() {
            return new Zeros();
        }

        /** The rows (and, unless words are given, the words) of another store, converted to this store's dtype. */
        static Init copyOf(EmbeddingStore source) {
            return new CopyOf(source);
        }

        /** Normal distribution. */
        record Normal(double mean, double std, long seed) implements Init {
        }

        /** Uniform distribution over [low, high). */
        record Uniform(double low, double high, long seed) implements Init {
        }

        /** Zeros. */
        record Zeros() implements Init {
        }

        /** A copy of another store. */
        record CopyOf(EmbeddingStore source) implements Init {
            public CopyOf {
                Objects.requireNonNull(source, "source");
            }
        }
    }

    /** Describes a store to create; {@link #create()} builds it atomically and opens it for writing. */
    public static final class Builder {
        private final Path dir;
        private long rows = -1;
        private int dim = -1;
        private Dtype dtype;
        private List<String> words;
        private boolean vocabulary = true;
        private long paddingIndex = -1;
        private Init init = Init.normal(0);

        private Builder(Path dir) {
            this.dir = Objects.requireNonNull(dir, "dir");
        }

        /** Number of rows; implied by {@link #words} or {@link Init#copyOf} when not given. */
        public Builder rows(long rows) {
            if (rows < 0 || rows > MAX_ROWS) {
                throw new IllegalArgumentException("rows must be in [0, " + MAX_ROWS + "]: rows=" + rows);
            }
            this.rows = rows;
            return this;
        }

        /** Number of dimensions; implied by {@link Init#copyOf} when not given. */
        public Builder dim(int dim) {
            if (dim < 1 || dim > MAX_DIM) {
                throw new IllegalArgumentException("dim must be in [1, " + MAX_DIM + "]: dim=" + dim);
            }
            this.dim = dim;
            return this;
        }

        /** Element type; f32 unless given (or the source's, for {@link Init#copyOf}). */
        public Builder dtype(Dtype dtype) {
            this.dtype = Objects.requireNonNull(dtype, "dtype");
            return this;
        }

        /** The word of each row, in row order; words must be distinct. */
        public Builder words(List<String> words) {
            this.words = List.copyOf(words);
            return this;
        }

        /**
         * Whether the store keeps a vocabulary (default true). A store without one is a plain id-indexed table, as a
         * recommender's; its rows are appended with {@link #appendRow}.
         */
        public Builder vocabulary(boolean vocabulary) {
            this.vocabulary = vocabulary;
            return this;
        }

        /** The padding row ({@code padding_idx}): it reads as zeros and is never written. -1 for none. */
        public Builder paddingIndex(long paddingIndex) {
            if (paddingIndex < -1) {
                throw new IllegalArgumentException("paddingIndex must be -1 (none) or a row: " + paddingIndex);
            }
            this.paddingIndex = paddingIndex;
            return this;
        }

        /** How rows start; {@code Init.normal(0)} unless given. */
        public Builder init(Init init) {
            this.init = Objects.requireNonNull(init, "init");
            return this;
        }

        /**
         * Builds the store in a temporary sibling directory, forces every file to disk, renames it to its path and
         * forces the parent directory: the store appears whole or not at all. Returns it open for writing. The disk
         * space of every row is reserved before the first is written; temporary directories that killed builds of
         * the same path left behind are removed first (each removal is logged through {@link System.Logger}).
         *
         * @throws StoreException if the path exists or the files cannot be written ("no space left on device" when the
         *                        table does not fit; nothing is left behind)
         */
        public EmbeddingStore create() {
            Spec spec = resolve();
            try (StoreDraft draft = new StoreDraft(spec.dir(), spec.dim(), spec.dtype(), spec.words() != null,
                    spec.paddingIndex(), spec.rows())) {
                // Every row is written (zeros too, by a later write), so all of their blocks are reserved before any
                // work: a table larger than the disk fails here, at once.
                draft.reserveRows(spec.rows());
                fillRows(draft, spec);
                if (spec.words() != null) {
                    List<byte[]> encoded = new ArrayList<>(spec.words().size());
                    long bytes = 0;
                    for (String w : spec.words()) {
                        byte[] utf8 = VocabularyIndex.encode(w);
                        encoded.add(utf8);
                        bytes += VocabularyIndex.recordBytes(utf8);
                    }
                    draft.ensureWordCapacity(bytes);
                    for (int row = 0; row < encoded.size(); row++) {
                        draft.putWord(row, MemorySegment.ofArray(encoded.get(row)));
                    }
                }
                draft.commit(spec.rows(), OnDuplicate.KEEP_FIRST, (word, first, duplicate) -> {
                    throw new IllegalArgumentException("duplicate word '" + word + "' at rows " + first + " and " + duplicate);
                });
            }
            return openForWriting(spec.dir());
        }

        /**
         * Starts building a store row by row, for converters and bulk loads: uses this builder's dim, dtype,
         * vocabulary and padding index, with {@code rows} (if given) as the initial capacity; words and init are not
         * used. See {@link Draft}.
         */
        public Draft draft() {
            if (dim < 0) {
                throw new IllegalArgumentException("dim not given: set dim(d)");
            }
            if (words != null) {
                throw new IllegalArgumentException("a draft takes its words through putWord, not words(list)");
            }
            return new StoreDraft(dir, dim, dtype == null ? Dtype.F32 : dtype, vocabulary, paddingIndex, Math.max(rows, 0));
        }

        Spec resolve() {
            EmbeddingStore source = init instanceof Init.CopyOf c ? c.source() : null;
            if (dim < 0 && source == null) {
                throw new IllegalArgumentException("dim not given: set dim(d) or init(Init.copyOf(store))");
            }
            int d = dim >= 0 ? dim : source.dim();
            Dtype t = dtype != null ? dtype : source != null ? source.dtype() : Dtype.F32;
            List<String> w = words;
            long r = rows >= 0 ? rows : w != null ? w.size() : source != null ? source.rows() : -1;
            if (r < 0) {
                throw new IllegalArgumentException("rows not given: set rows(n), words(list) or init(Init.copyOf(store))");
            }
            if (source != null) {
                if (d != source.dim()) {
                    throw new IllegalArgumentException("dim " + d + " differs from the source store's " + source.dim());
                }
                if (r > source.rows()) {
                    throw new IllegalArgumentException("rows " + r + " exceeds the source store's " + source.rows());
                }
                if (w == null && vocabulary && source.hasVocabulary()) {
                    List<String> copied = new ArrayList<>((int) r);
                    for (long i = 0; i < r; i++) {
                        copied.add(source.word(i));
                    }
                    w = copied;
                }
            }
            if (w != null && !vocabulary) {
                throw new IllegalArgumentException("words were given for a store without a vocabulary");
            }
            if (w != null && r != w.size()) {
                throw new IllegalArgumentException("rows " + r + " differs from the " + w.size() + " words given");
            }
            if (vocabulary && w == null && r > 0) {
                throw new IllegalArgumentException("a store with a vocabulary needs words(list) for its " + r
                        + " rows, or vocabulary(false) for an id-indexed table");
            }
            if (paddingIndex >= r) {
                throw new IllegalArgumentException("paddingIndex " + paddingIndex + " is outside [0, " + r + ")");
            }
            return new Spec(dir, r, d, t, vocabulary ? (w == null ? List.of() : w) : null, paddingIndex, init);
        }
    }

    /** What a {@link Draft} does with a word that appears again. */
    public enum OnDuplicate {
        /** The first row keeps the word and its vector; the later row is dropped (gensim's behaviour). */
        KEEP_FIRST,
        /** The word keeps its first row, but with the later row's vector; the later row is dropped. */
        KEEP_LAST
    }

    /** Hears of each duplicate word at {@link Draft#commit}; it may throw to abort the commit (and the draft). */
    @FunctionalInterface
    public interface DuplicateListener {
        /**
         * @param word         the repeated word
         * @param firstRow     the row that keeps the word, numbered as in the committed store
         * @param duplicateRow the dropped row, numbered as it was put
         */
        void duplicate(String word, long firstRow, long duplicateRow);
    }

    /**
     * A store being built in a hidden temporary directory beside its final path, for bulk loads such as converting a
     * vector file. Rows and words are put by row number, from any number of threads (each row by one thread).
     * {@link #commit} makes the store appear atomically; {@link #close()} without a commit deletes everything. Grow
     * with {@link #ensureCapacity} and {@link #ensureWordCapacity} only while no thread is putting. The capacity may
     * be a generous bound: disk space is reserved as rows and words are put, and a put that does not fit throws a
     * {@link StoreException} ("no space left on device") instead of faulting inside a mapped write.
     */
    public interface Draft extends AutoCloseable {
        /** Where the store will appear. */
        Path path();

        /** Dimensions of every row. */
        int dim();

        /** Element type of the matrix. */
        Dtype dtype();

        /** Whether the store will have a vocabulary. */
        boolean hasVocabulary();

        /** Rows there is room for. */
        long capacity();

        /** Makes room for {@code rows} rows (files are extended sparsely; blocks are reserved as rows are put). */
        void ensureCapacity(long rows);

        /** Makes room for {@code bytes} bytes of word records: 8 bytes plus the UTF-8 length per word. */
        void ensureWordCapacity(long bytes);

        /** Bytes of word records put so far. */
        long wordBytes();

        /**
         * Whether {@link #commit} also writes norms.f32 (every row's norm, for similarity queries), so that no query
         * and no writer has to compute them later. Off by default: a table that will be trained gains nothing by it.
         */
        void computeNormsOnCommit(boolean compute);

        /** Writes {@code src[offset, offset + dim)} as row {@code row}, converting to the dtype. */
        void putRow(long row, float[] src, int offset);

        /** Sets the word of row {@code row} from its UTF-8 bytes (checked to be UTF-8 by the caller). */
        void putWord(long row, MemorySegment utf8);

        /**
         * Finishes the store with rows [0, rows): drops duplicate words as {@code onDuplicate} says (telling
         * {@code listener}, which may be null), builds the word index, trims and forces every file, and renames the
         * directory into place. Returns the rows kept.
         *
         * @throws IllegalStateException if a row of a store with a vocabulary has no word
         */
        long commit(long rows, OnDuplicate onDuplicate, DuplicateListener listener);

        /** Deletes the draft unless it was committed. */
        @Override
        void close();
    }

    /** A checked creation request. */
    record Spec(Path dir, long rows, int dim, Dtype dtype, List<String> words, long paddingIndex, Init init) {
    }

    /**
     * The mapped files at one capacity; replaced (never modified) when the store grows. {@code norms} is null while
     * {@code norms.f32} does not exist (or a reader has not mapped it yet).
     */
    private record Mapping(long capacity, MemorySegment matrix, MemorySegment seq, MemorySegment offsets,
                           MemorySegment words, VocabularyIndex index, MemorySegment norms) {
        Mapping withNorms(MemorySegment newNorms) {
            return new Mapping(capacity, matrix, seq, offsets, words, index, newNorms);
        }
    }

    /** What readers of this object see: the mapping and how much of it is published. Replaced as a whole. */
    private record View(Mapping mapping, long rows, long wordBytes) {
    }

    private final Path dir;
    private final Manifest manifest;
    private final boolean writable;
    private final int dim;
    private final Dtype dtype;
    private final long rowBytes;
    private final long paddingIndex;
    /** vocab.words, resolved once: lookups name it only in error messages, and a Path per call showed in profiles. */
    private final Path wordsFile;
    private final Arena arena;
    private final ControlBlock control;
    private final WriterLock lock;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object appendLock = new Object();
    private volatile View view;
    /** Rows written to the manifest and the .npy header at the last flush (writer only). */
    private long flushedRows;
    /**
     * Rows whose disk blocks are reserved in every file indexed by row, and bytes of word records likewise: appends
     * reserve ahead of their writes (see {@link #reserveForAppend}). Guarded by appendLock.
     */
    private long reservedRows;
    private long reservedWordBytes;
    /** Whether checksums.txt may still describe the files: the writer's first change deletes it. */
    private volatile boolean checksumsCurrent = true;
    /** The similarity kernel of this store's queries; null for the one selected for the JVM. Set by tests only. */
    private volatile SimilarityKernel kernel;
    /** The rows listed in damaged.rows, as this object knows them. */
    private final DamagedRows damaged;

    private EmbeddingStore(Path dir, Manifest manifest, boolean writable, Arena arena, ControlBlock control,
                           WriterLock lock, View view, DamagedRows damaged) {
        this.dir = dir;
        this.damaged = damaged;
        this.manifest = manifest;
        this.writable = writable;
        this.dim = manifest.dim();
        this.dtype = manifest.dtype();
        this.rowBytes = (long) manifest.dim() * manifest.dtype().bytes();
        this.paddingIndex = manifest.paddingIndex();
        this.wordsFile = dir.resolve(VocabularyIndex.WORDS_FILE);
        this.arena = arena;
        this.control = control;
        this.lock = lock;
        this.view = view;
        this.flushedRows = manifest.rows();
        this.reservedRows = view.rows();
        this.reservedWordBytes = view.wordBytes();
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
    public static Builder builder(Path dir) {
        return new Builder(dir);
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
    public static EmbeddingStore openForWriting(Path dir) {
        return open(dir, true);
    }

    private static EmbeddingStore open(Path dir, boolean writable) {
        Objects.requireNonNull(dir, "dir");
        if (!Files.isDirectory(dir)) {
            throw new StoreException(dir, Files.exists(dir) ? "not an embstore store: not a directory" : "no such store directory");
        }
        Manifest manifest = Manifest.read(dir);
        WriterLock lock = writable ? WriterLock.acquire(dir) : null;
        Arena arena = Arena.ofShared();
        try {
            MemorySegment controlSeg = map(arena, dir.resolve(CONTROL_FILE), ControlBlock.BYTES, ControlBlock.BYTES, writable);
            ControlBlock control = new ControlBlock(controlSeg);
            control.check(dir.resolve(CONTROL_FILE));
            // live_rows first: it is released last by the writer, so what it covers is visible after this acquire.
            long rows = control.liveRows();
            long capacity = control.capacity();
            long wordBytes = control.wordBytes();
            if (manifest.rows() > rows) {
                throw new StoreException(dir.resolve(Manifest.FILE), "manifest says rows=" + manifest.rows()
                        + " but the control block has only " + rows + " live rows");
            }
            if (manifest.paddingIndex() >= rows && manifest.paddingIndex() != -1) {
                throw new StoreException(dir.resolve(Manifest.FILE), "padding_index " + manifest.paddingIndex()
                        + " is outside the " + rows + " rows");
            }
            Mapping mapping = mapAll(arena, dir, manifest, capacity, wordBytes, null, writable);
            NpyHeader.Parsed header = NpyHeader.read(mapping.matrix(), dir.resolve(MATRIX_FILE));
            if (header.dtype() != manifest.dtype() || header.dim() != manifest.dim()) {
                throw new StoreException(dir.resolve(MATRIX_FILE), ".npy header says " + header.dtype().label() + " x "
                        + header.dim() + " but the manifest says " + manifest.dtype().label() + " x " + manifest.dim());
            }
            if (header.rows() > capacity) {
                throw new StoreException(dir.resolve(MATRIX_FILE), ".npy header says " + header.rows()
                        + " rows but the files hold " + capacity);
            }
            DamagedRows damaged = DamagedRows.forReader(dir, control);
            if (writable) {
                // A writer that died between renaming a rebuilt index and bumping index_epoch: catch the epoch up.
                if (mapping.index() != null && mapping.index().epoch() != control.indexEpoch()) {
                    control.indexEpoch(mapping.index().epoch());
                }
                // A row a writer died in the middle of has no known content: it stays odd and is recorded as
                // damaged until it is rewritten. Past the live rows, an append that never published: nobody can see it.
                long[] odd = RowSeqlock.oddRows(mapping.seq(), 0, rows);
                RowSeqlock.resetOdd(mapping.seq(), rows, capacity);
                damaged = DamagedRows.recordAtOpen(dir, control, odd);
                // A writer that did not close may have left rows and norms apart on disk; they are recomputed on demand.
                if (control.writerPid() != 0 || mapping.norms() == null) {
                    control.normsRows(0);
                }
                control.writerPid(ProcessHandle.current().pid());
            }
            return new EmbeddingStore(dir, manifest, writable, arena, control, lock,
                    new View(mapping, rows, wordBytes), damaged);
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

    /**
     * Maps every file for {@code capacity} rows, reusing the parts of {@code previous} that did not change. Sizes are
     * checked before anything is mapped.
     */
    private static Mapping mapAll(Arena arena, Path dir, Manifest manifest, long capacity, long wordBytes,
                                  Mapping previous, boolean writable) {
        long rowBytes = (long) manifest.dim() * manifest.dtype().bytes();
        MemorySegment matrix;
        MemorySegment seq;
        MemorySegment offsets = null;
        if (previous != null && previous.capacity() == capacity) {
            matrix = previous.matrix();
            seq = previous.seq();
            offsets = previous.offsets();
        } else {
            long matrixBytes = NpyHeader.BYTES + capacity * rowBytes;
            matrix = map(arena, dir.resolve(MATRIX_FILE), matrixBytes, matrixBytes, writable);
            seq = map(arena, dir.resolve(RowSeqlock.FILE), RowSeqlock.fileBytes(capacity), RowSeqlock.fileBytes(capacity), writable);
            if (manifest.vocabulary()) {
                offsets = map(arena, dir.resolve(VocabularyIndex.OFFSETS_FILE), capacity * Long.BYTES, capacity * Long.BYTES, writable);
            }
        }
        MemorySegment words = null;
        VocabularyIndex index = null;
        if (manifest.vocabulary()) {
            if (previous != null && previous.words().byteSize() >= wordBytes) {
                words = previous.words();
            } else {
                Path wordsFile = dir.resolve(VocabularyIndex.WORDS_FILE);
                words = map(arena, wordsFile, wordBytes, fileSize(wordsFile), writable);
            }
            index = previous != null ? previous.index() : mapIndex(arena, dir, writable);
        }
        MemorySegment norms = previous != null && previous.capacity() == capacity ? previous.norms()
                : mapNormsIfPresent(arena, dir, capacity, writable);
        return new Mapping(capacity, matrix, seq, offsets, words, index, norms);
    }

    /** Maps {@code norms.f32} for {@code capacity} rows, or returns null when the store has none (it is optional). */
    private static MemorySegment mapNormsIfPresent(Arena arena, Path dir, long capacity, boolean writable) {
        Path file = dir.resolve(RowNorms.FILE);
        if (!Files.exists(file)) {
            return null;
        }
        long bytes = RowNorms.fileBytes(capacity);
        return map(arena, file, bytes, bytes, writable);
    }

    private static VocabularyIndex mapIndex(Arena arena, Path dir, boolean writable) {
        Path file = dir.resolve(VocabularyIndex.INDEX_FILE);
        long size = fileSize(file);
        return VocabularyIndex.attach(map(arena, file, VocabularyIndex.HEADER_BYTES, size, writable), file);
    }

    private static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            throw new StoreException(file, "missing file");
        } catch (IOException e) {
            throw new StoreException(file, "cannot read the file's size", e);
        }
    }

    /**
     * Maps {@code mapBytes} of {@code file} after checking that it holds at least {@code minBytes}: mapping past the
     * end of a file and reading there is a SIGBUS, so the check comes first.
     */
    private static MemorySegment map(Arena arena, Path file, long minBytes, long mapBytes, boolean writable) {
        long size = fileSize(file);
        if (size < minBytes) {
            throw new StoreException(file, "truncated: " + size + " bytes, expected at least " + minBytes);
        }
        if (mapBytes > size) {
            throw new StoreException(file, "truncated: " + size + " bytes, expected " + mapBytes);
        }
        try (FileChannel ch = writable
                ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY, 0, mapBytes, arena);
        } catch (IOException e) {
            throw new StoreException(file, "cannot map " + mapBytes + " bytes (check free address space: ulimit -v,"
                    + " and the map count: sysctl vm.max_map_count)", e);
        }
    }

    /** Maps {@code bytes} of a file for writing, extending the file if it is shorter (growth only, never truncation). */
    private MemorySegment mapGrowing(Path file, long bytes) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw new StoreException(file, "cannot extend and map to " + bytes + " bytes", e);
        }
    }

    // ------------------------------------------------------------------------------------------------ creation

    /** Creates {@code file} with {@code bytes} zero bytes (sparse) and maps it for writing. */
    static MemorySegment createMapped(Arena arena, Path file, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        }
    }

    private static void fillRows(Draft draft, Spec spec) {
        int dim = spec.dim();
        switch (spec.init()) {
            case Init.Zeros z -> {
                // The file reads as zeros already: its blocks were reserved, never written.
            }
            case Init.CopyOf c -> {
                float[] row = new float[dim];
                for (long r = 0; r < spec.rows(); r++) {
                    c.source().read(r, row);
                    draft.putRow(r, row, 0);
                }
            }
            case Init.Normal n -> fillRandom(draft, spec, n.seed(), (rnd, out) -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) (n.mean() + n.std() * rnd.nextGaussian());
                }
            });
            case Init.Uniform u -> fillRandom(draft, spec, u.seed(), (rnd, out) -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) (u.low() + (u.high() - u.low()) * rnd.nextDouble());
                }
            });
        }
    }

    private interface RowDraw {
        void draw(SplittableRandom random, float[] out);
    }

    /** Rows are drawn in blocks of 1024, each block from its own generator seeded by (seed, block): any thread count gives the same table. */
    private static void fillRandom(Draft draft, Spec spec, long seed, RowDraw draw) {
        final int block = 1024;
        long blocks = (spec.rows() + block - 1) / block;
        LongStream.range(0, blocks).parallel().forEach(b -> {
            SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + b);
            float[] row = new float[spec.dim()];
            long end = Math.min(spec.rows(), (b + 1) * block);
            for (long r = b * block; r < end; r++) {
                draw.draw(random, row);
                draft.putRow(r, row, 0);
            }
        });
    }

    static void putRow(MemorySegment matrix, Dtype dtype, long at, float[] src, int srcOffset, int dim) {
        if (dtype == Dtype.F32) {
            MemorySegment.copy(src, srcOffset, matrix, F32_LE, at, dim);
        } else {
            for (int i = 0; i < dim; i++) {
                matrix.set(F16_LE, at + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
            }
        }
    }

    /**
     * Replaces {@code file} with {@code text} atomically: a temporary sibling, forced, renamed over it. The temporary's
     * name is fixed (only the writer, holding the lock, writes here); a leftover of a crash is deleted first, and the
     * new one is created exclusively, so a symlink planted under that name is never written through.
     */
    static void writeFileDurably(Path file, String text) throws IOException {
        writeFileDurably(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Replaces {@code file} with {@code bytes}: a fixed-name temporary beside it (inside the store, under the writer
     * lock), created exclusively and never through a symlink, forced, then renamed over it.
     */
    static void writeFileDurably(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    // ------------------------------------------------------------------------------------------------ shape

    /** Rows visible to this object: all of them for the writer; as of the last {@link #refresh()} for a reader. */
    public long rows() {
        return view.rows();
    }

    /** Dimensions of every row. */
    public int dim() {
        return dim;
    }

    /** Element type of the matrix file. */
    public Dtype dtype() {
        return dtype;
    }

    /** The store directory. */
    public Path path() {
        return dir;
    }

    /** Whether this object holds the writer lock. */
    public boolean isWritable() {
        return writable;
    }

    /** Whether the store has a vocabulary (word to row). */
    public boolean hasVocabulary() {
        return manifest.vocabulary();
    }

    /** The padding row, or -1 when there is none. */
    public long paddingIndex() {
        return paddingIndex;
    }

    /**
     * The writer's publication counter, read from the shared control block (so a reader sees it move without
     * {@link #refresh()}). It grows at every {@link #publish()}, {@link #flush()} and append.
     */
    public long generation() {
        ensureOpen();
        return control.generation();
    }

    // ------------------------------------------------------------------------------------------------ vocabulary

    /** The row of {@code word}, or -1 when the store does not have it (or a reader has not refreshed since it was appended). */
    public long rowOf(String word) {
        return rowOf(view, word);
    }

    /**
     * The rows of {@code words[0, count)} into {@code rows}, -1 for a word the store does not have: what a tokenizer
     * feeding {@link #gather} wants. Faster than a loop of {@link #rowOf} on a large vocabulary: the words are looked
     * up in blocks whose memory reads overlap.
     */
    public void rowsOf(String[] words, int count, long[] rows) {
        Objects.checkFromIndexSize(0, count, words.length);
        Objects.checkFromIndexSize(0, count, rows.length);
        View v = view;
        Mapping m = vocabularyMapping(v);
        VocabularyIndex index = m.index();
        final int block = 16;
        byte[][] utf8 = new byte[block][];
        long[] hashes = new long[block];
        long sink = 0;
        for (int base = 0; base < count; base += block) {
            int n = Math.min(block, count - base);
            for (int j = 0; j < n; j++) {
                utf8[j] = words[base + j].getBytes(StandardCharsets.UTF_8);
                hashes[j] = VocabularyIndex.hash(utf8[j]);
            }
            for (int j = 0; j < n; j++) {
                sink ^= index.touch(hashes[j], m.words(), v.wordBytes());
            }
            for (int j = 0; j < n; j++) {
                rows[base + j] = index.lookup(utf8[j], hashes[j], m.words(), v.wordBytes(), v.rows(), wordsFile);
            }
        }
        touched = sink;
    }

    /** Keeps {@link #rowsOf}'s cache-warming reads alive: a compiler may drop a load whose value is never used. */
    @SuppressWarnings("unused")
    private volatile long touched;

    /** Whether the store has {@code word}. */
    public boolean contains(String word) {
        return rowOf(word) >= 0;
    }

    /** The word of {@code row}. */
    public String word(long row) {
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
    public void read(long row, float[] dst) {
        read(row, dst, 0, ReadMode.CONSISTENT);
    }

    /** Copies row {@code row} into {@code dst[offset, offset + dim)}. No allocation. */
    public void read(long row, float[] dst, int offset, ReadMode mode) {
        View v = view;
        ensureOpen();
        Objects.checkIndex(row, v.rows());
        Objects.checkFromIndexSize(offset, dim, dst.length);
        copyRow(v.mapping(), row, dst, null, offset, mode);
    }

    /**
     * A zero-copy, read-only view of row {@code row} in the matrix file, in the store's dtype (little-endian). It
     * reads the live mapping, so a concurrent write may show through half done: use {@link #read} for a consistent
     * copy. The view is valid until this store is closed.
     */
    public MemorySegment rowSegment(long row) {
        View v = view;
        ensureOpen();
        Objects.checkIndex(row, v.rows());
        return v.mapping().matrix().asSlice(NpyHeader.BYTES + row * rowBytes, rowBytes).asReadOnly();
    }

    /**
     * {@code nn.Embedding}'s forward: row {@code ids[i]} goes to {@code dst[i * dim, (i + 1) * dim)}, each row read
     * consistently.
     *
     * @throws IndexOutOfBoundsException naming the id, its position and the row count, before anything is written
     */
    public void gather(int[] ids, float[] dst) {
        gather(ids, dst, ReadMode.CONSISTENT);
    }

    /** As {@link #gather(int[], float[])}, with 64-bit ids (a flattened int64 index tensor). */
    public void gather(long[] ids, float[] dst) {
        gather(ids, dst, ReadMode.CONSISTENT);
    }

    /** As {@link #gather(int[], float[])}, choosing the read mode. */
    public void gather(int[] ids, float[] dst, ReadMode mode) {
        gatherRows(ids, null, ids.length, dst, null, dst.length * (long) Float.BYTES, mode);
    }

    /** As {@link #gather(long[], float[])}, choosing the read mode. */
    public void gather(long[] ids, float[] dst, ReadMode mode) {
        gatherRows(null, ids, ids.length, dst, null, dst.length * (long) Float.BYTES, mode);
    }

    /** Gathers into a segment of at least {@code ids.length * dim} native-order float32 values (for example a tensor's). */
    public void gather(int[] ids, MemorySegment dst, ReadMode mode) {
        gatherRows(ids, null, ids.length, null, dst, dst.byteSize(), mode);
    }

    /** Gathers 64-bit ids into a segment of at least {@code ids.length * dim} native-order float32 values. */
    public void gather(long[] ids, MemorySegment dst, ReadMode mode) {
        gatherRows(null, ids, ids.length, null, dst, dst.byteSize(), mode);
    }

    /** The one gather loop: ids come from {@code ints} or {@code longs}, rows go to {@code dstArray} or {@code dstSegment}. */
    private void gatherRows(int[] ints, long[] longs, int n, float[] dstArray, MemorySegment dstSegment, long dstBytes,
                            ReadMode mode) {
        View v = view;
        ensureOpen();
        checkGatherTarget(n, dstBytes);
        long rows = v.rows();
        // Every id is checked before the first row is copied, so a bad batch leaves the caller's buffer untouched.
        for (int i = 0; i < n; i++) {
            checkId(id(ints, longs, i), i, rows);
        }
        Mapping m = v.mapping();
        Scratch scratch = scratch();
        if (mode == ReadMode.RELAXED) {
            for (int i = 0; i < n; i++) {
                long id = id(ints, longs, i);
                copyRaw(m.matrix(), NpyHeader.BYTES + id * rowBytes, dstArray, dstSegment, target(dstArray, i), scratch);
            }
            return;
        }
        // Consistent reads in blocks: the block's sequence counters are read first, so their cache misses overlap
        // instead of each row's copy waiting for its own counter; then the rows are copied, then validated. A row whose
        // counter was odd or moved is read again on its own, retrying as long as it takes.
        int[] seqs = scratch.sequences;
        MemorySegment seq = m.seq();
        for (int base = 0; base < n; base += Scratch.BLOCK) {
            int count = Math.min(Scratch.BLOCK, n - base);
            for (int j = 0; j < count; j++) {
                seqs[j] = RowSeqlock.readBegin(seq, id(ints, longs, base + j));
            }
            for (int j = 0; j < count; j++) {
                if ((seqs[j] & 1) == 0) {
                    long id = id(ints, longs, base + j);
                    copyRaw(m.matrix(), NpyHeader.BYTES + id * rowBytes, dstArray, dstSegment, target(dstArray, base + j), scratch);
                }
            }
            RowSeqlock.validateFence();
            for (int j = 0; j < count; j++) {
                long id = id(ints, longs, base + j);
                if ((seqs[j] & 1) != 0 || RowSeqlock.readAgain(seq, id) != seqs[j]) {
                    copyRow(m, id, dstArray, dstSegment, target(dstArray, base + j), ReadMode.CONSISTENT);
                }
            }
        }
    }

    /** Id {@code i} of a gather, from whichever of the two id arrays was given. */
    private static long id(int[] ints, long[] longs, int i) {
        return ints != null ? ints[i] : longs[i];
    }

    /** Where gathered row {@code i} goes: an element index in an array, a byte offset in a segment. */
    private long target(float[] dstArray, int i) {
        return dstArray != null ? (long) i * dim : (long) i * dim * Float.BYTES;
    }

    /**
     * Per-thread scratch of the read paths: reused, so reads and gathers allocate nothing after a thread's first.
     * f16 rows are copied out as one block of halves and converted in a plain array loop, which C2 vectorises
     * (element by element through the segment it did not, and f16 reads ran slower than f32 ones).
     */
    private static final class Scratch {
        static final int BLOCK = 16;
        final int[] sequences = new int[BLOCK];
        short[] halves = new short[0];
        float[] floats = new float[0];

        void ensure(int dim) {
            if (halves.length < dim) {
                halves = new short[dim];
                floats = new float[dim];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Scratch scratch() {
        Scratch s = SCRATCH.get();
        s.ensure(dim);
        return s;
    }

    private void checkGatherTarget(int ids, long dstBytes) {
        long needed = (long) ids * dim * Float.BYTES;
        if (dstBytes < needed) {
            throw new IllegalArgumentException("destination holds " + dstBytes / Float.BYTES + " floats, "
                    + ids + " ids x dim " + dim + " need " + needed / Float.BYTES);
        }
    }

    private static void checkId(long id, int position, long rows) {
        if (id < 0 || id >= rows) {
            throw new IndexOutOfBoundsException("id " + id + " at position " + position + " is outside [0, " + rows + ")");
        }
    }

    /**
     * Copies one row to {@code dstArray} at element {@code dstOffset}, or to {@code dstSegment} at byte
     * {@code dstOffset}; consistent reads retry under the row's seqlock.
     */
    private void copyRow(Mapping m, long row, float[] dstArray, MemorySegment dstSegment, long dstOffset, ReadMode mode) {
        long at = NpyHeader.BYTES + row * rowBytes;
        Scratch scratch = dtype == Dtype.F16 ? scratch() : null;
        if (mode == ReadMode.RELAXED) {
            copyRaw(m.matrix(), at, dstArray, dstSegment, dstOffset, scratch);
            return;
        }
        MemorySegment seq = m.seq();
        long waitingSince = 0;
        for (int spins = 0; ; spins++) {
            int begin = RowSeqlock.readBegin(seq, row);
            if ((begin & 1) == 0) {
                copyRaw(m.matrix(), at, dstArray, dstSegment, dstOffset, scratch);
                if (RowSeqlock.readValidate(seq, row, begin)) {
                    return;
                }
            } else if (damaged.contains(row)) {
                throw damagedRowError(row);
            }
            if (spins < SPINS_BEFORE_CHECK) {
                Thread.onSpinWait();
            } else {
                if (waitingSince == 0) {
                    waitingSince = System.nanoTime();
                }
                waitForWriter(row, begin, waitingSince);
            }
        }
    }

    /**
     * A row stayed busy past the spin budget: fail if the writer is gone (it died mid-write and left the counter odd)
     * or after {@link #ROW_WAIT_NANOS}; otherwise park briefly and let the caller retry.
     */
    private void waitForWriter(long row, int sequence, long waitingSince) {
        long pid = control.writerPid();
        boolean alive = pid == ProcessHandle.current().pid()
                || (pid != 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        if (!alive) {
            throw new StoreException(dir, "row " + row + " was left half-written (sequence " + sequence
                    + ") by a writer that is no longer running: its content is unknown; open the store for writing and"
                    + " rewrite the row with write(" + row + ", vector) (a trainer's attach restores the rows of an"
                    + " interrupted step)");
        }
        if (System.nanoTime() - waitingSince > ROW_WAIT_NANOS) {
            throw new StoreException(dir, "row " + row + " has been under write by pid " + pid
                    + " for more than " + ROW_WAIT_NANOS / 1_000_000_000L + " s");
        }
        LockSupport.parkNanos(50_000);
        if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            throw new StoreException(dir, "interrupted while waiting for row " + row + " to be written");
        }
    }

    private StoreException damagedRowError(long row) {
        return new StoreException(dir, "row " + row + " is damaged: a write of it did not complete (its writer died or"
                + " the write failed), so its content is unknown; rewrite it with write(" + row + ", vector) in the"
                + " writer (a trainer's attach restores it from its undo log if a training step left it)");
    }

    /**
     * The damaged rows, ascending: rows whose last write did not complete (a writer died in the middle of the row, or
     * the write failed), so that their content is unknown. Consistent reads of them throw a {@link StoreException}
     * at once, similarity queries skip them, {@link #verify()} lists them; {@link #write} makes a row whole again.
     * Empty for a healthy store. Rows a dead writer left half-written are listed once a writer has opened the store.
     */
    public long[] damagedRows() {
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
    public long damagedRowCount() {
        ensureOpen();
        return damaged.rows().length == 0 ? 0 : damagedRows().length;
    }

    /**
     * Throws the {@link StoreException} a consistent read of {@code row} would throw if the row is damaged; returns if
     * it is not. For writers that read rows relaxed (a trainer) and must not build on an unknown row.
     */
    public void requireHealthy(long row) {
        ensureOpen();
        View v = view;
        Objects.checkIndex(row, v.rows());
        if (damaged.contains(row) && (RowSeqlock.readBegin(v.mapping().seq(), row) & 1) != 0) {
            throw damagedRowError(row);
        }
    }

    private void copyRaw(MemorySegment matrix, long at, float[] dstArray, MemorySegment dstSegment, long dstOffset,
                         Scratch scratch) {
        if (dtype == Dtype.F32) {
            if (dstArray != null) {
                MemorySegment.copy(matrix, F32_LE, at, dstArray, (int) dstOffset, dim);
            } else {
                MemorySegment.copy(matrix, F32_LE, at, dstSegment, F32_NATIVE_U, dstOffset, dim);
            }
            return;
        }
        short[] halves = scratch.halves;
        MemorySegment.copy(matrix, F16_LE, at, halves, 0, dim);
        float[] out = dstArray != null ? dstArray : scratch.floats;
        int to = dstArray != null ? (int) dstOffset : 0;
        for (int i = 0; i < dim; i++) {
            out[to + i] = Float.float16ToFloat(halves[i]);
        }
        if (dstArray == null) {
            MemorySegment.copy(out, 0, dstSegment, F32_NATIVE_U, dstOffset, dim);
        }
    }

    // ------------------------------------------------------------------------------------------------ similarity

    /**
     * A row found by a similarity query.
     *
     * @param row        the row
     * @param word       its word, or null in a store without a vocabulary
     * @param similarity cosine similarity to the query, in [-1, 1]
     */
    public record Neighbor(long row, String word, float similarity) {
    }

    /**
     * The {@code k} rows most similar to {@code word} by cosine, best first, without the word itself: gensim's
     * {@code most_similar(word, topn=k)}. See {@link #mostSimilar(float[][], int, Set)} for how rows are scanned.
     *
     * @throws IllegalArgumentException if the store does not have the word, or its vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public List<Neighbor> mostSimilar(String word, int k) {
        View v = view;
        long row = requireRow(v, word);
        float[] query = new float[dim];
        copyRow(v.mapping(), row, query, null, 0, ReadMode.CONSISTENT);
        return search(new float[][] {query}, k, new long[] {row}, new String[] {"word '" + word + "'"}, Long.MAX_VALUE)
                .get(0);
    }

    /**
     * {@link #mostSimilar(String, int)} for several words in one pass over the matrix: entry {@code i} holds the
     * {@code k} rows most similar to {@code words.get(i)}, without that word (the other words may appear).
     *
     * @throws IllegalArgumentException naming a word the store does not have, or one whose vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public List<List<Neighbor>> mostSimilar(List<String> words, int k) {
        return mostSimilar(words, k, Long.MAX_VALUE);
    }

    /**
     * {@link #mostSimilar(List, int)} with only rows {@code [0, candidateRows)} ranked: for a table whose first rows
     * are words and whose later rows are something else (a text classifier's n-gram buckets), so that a word query
     * answers words. The scan stops at {@code candidateRows}; the query words may be any rows.
     *
     * @throws IllegalArgumentException naming a word the store does not have, or one whose vector is zero
     * @throws IllegalStateException    if the store has no vocabulary
     */
    public List<List<Neighbor>> mostSimilar(List<String> words, int k, long candidateRows) {
        if (k < 0) {
            throw new IllegalArgumentException("k must be at least 0: k=" + k);
        }
        View v = view;
        // Nothing proportional to k is allocated: no answer holds more rows than the table.
        k = (int) Math.min(k, v.rows());
        int n = words.size();
        long[] rows = new long[n];
        float[][] queries = new float[n][dim];
        String[] names = new String[n];
        for (int i = 0; i < n; i++) {
            rows[i] = requireRow(v, words.get(i));
            copyRow(v.mapping(), rows[i], queries[i], null, 0, ReadMode.CONSISTENT);
            names[i] = "word '" + words.get(i) + "'";
        }
        // One more than asked, nothing excluded: each query's own row is dropped from its own list afterwards.
        List<List<Neighbor>> found = search(queries, k == 0 || k == Integer.MAX_VALUE ? k : k + 1, new long[0], names,
                candidateRows);
        List<List<Neighbor>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            List<Neighbor> kept = new ArrayList<>(k);
            for (Neighbor x : found.get(i)) {
                if (x.row() != rows[i] && kept.size() < k) {
                    kept.add(x);
                }
            }
            out.add(List.copyOf(kept));
        }
        return out;
    }

    /**
     * The {@code k} rows most similar to {@code vector} by cosine, best first, leaving out the words in
     * {@code exclude} (words the store does not have are ignored).
     *
     * @throws IllegalArgumentException if the vector's length is not {@code dim}, or it is zero or not finite
     */
    public List<Neighbor> mostSimilar(float[] vector, int k, Set<String> exclude) {
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
    public List<List<Neighbor>> mostSimilar(float[][] queries, int k, Set<String> exclude) {
        View v = view;
        ensureOpen();
        long[] excluded = new long[exclude.size()];
        int n = 0;
        for (String word : exclude) {
            long row = rowOf(v, word);
            if (row >= 0) {
                excluded[n++] = row;
            }
        }
        String[] names = new String[queries.length];
        for (int i = 0; i < queries.length; i++) {
            names[i] = "query " + i;
        }
        return search(queries, k, Arrays.copyOf(excluded, n), names, Long.MAX_VALUE);
    }

    /**
     * Analogy "a is to b as c is to ?": the {@code k} rows most similar to {@code b - a + c}, computed on unit vectors,
     * leaving out a, b and c. This is gensim's {@code most_similar(positive=[b, c], negative=[a], topn=k)}: the mean of
     * the unit vectors of b, c and minus a, normalised, then cosine (the mean and the normalisation do not change a
     * cosine ranking, so this sums the unit vectors).
     *
     * @throws IllegalArgumentException naming a word the store does not have, or one whose vector is zero
     */
    public List<Neighbor> analogy(String a, String b, String c, int k) {
        return analogy(a, b, c, k, Long.MAX_VALUE);
    }

    /**
     * {@link #analogy(String, String, String, int)} with only rows {@code [0, candidateRows)} ranked (see
     * {@link #mostSimilar(List, int, long)}).
     */
    public List<Neighbor> analogy(String a, String b, String c, int k, long candidateRows) {
        View v = view;
        long ra = requireRow(v, a);
        long rb = requireRow(v, b);
        long rc = requireRow(v, c);
        double[] ua = unitVector(v, ra, a);
        double[] ub = unitVector(v, rb, b);
        double[] uc = unitVector(v, rc, c);
        float[] query = new float[dim];
        for (int i = 0; i < dim; i++) {
            query[i] = (float) (ub[i] + uc[i] - ua[i]);
        }
        return search(new float[][] {query}, k, new long[] {ra, rb, rc},
                new String[] {"analogy " + a + " : " + b + " :: " + c + " : ?"}, candidateRows).get(0);
    }

    /**
     * Cosine similarity of two words' vectors, computed in double from consistent copies: gensim's
     * {@code similarity(w1, w2)}.
     *
     * @throws IllegalArgumentException naming a word the store does not have, or one whose vector is zero
     */
    public float similarity(String w1, String w2) {
        View v = view;
        double[] u1 = unitVector(v, requireRow(v, w1), w1);
        double[] u2 = unitVector(v, requireRow(v, w2), w2);
        double dot = 0;
        for (int i = 0; i < dim; i++) {
            dot += u1[i] * u2[i];
        }
        return (float) Math.max(-1, Math.min(1, dot));
    }

    /**
     * Computes the norm of every row into {@code norms.f32} (creating it), so that similarity queries need not
     * compute them. The writer does this by itself on its first query; call it after a bulk load to pay the pass
     * ahead. Afterwards {@link #write} and {@link #append} keep the norms current. Rows may be written meanwhile.
     * A damaged row keeps whatever norm it had (queries skip it) until it is rewritten.
     *
     * @throws IllegalStateException if the store is open read-only (readers without norms compute them during the scan)
     */
    public void computeNorms() {
        ensureWritable();
        synchronized (appendLock) {
            View v = view;
            Mapping m = v.mapping();
            if (m.norms() == null) {
                Path file = dir.resolve(RowNorms.FILE);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
                    FileSpace.reserve(file, ch.size(), RowNorms.fileBytes(reservedRows));
                    m = m.withNorms(ch.map(FileChannel.MapMode.READ_WRITE, 0, RowNorms.fileBytes(m.capacity()), arena));
                } catch (IOException e) {
                    throw new StoreException(file, "cannot create and map " + RowNorms.fileBytes(m.capacity()) + " bytes", e);
                }
                // Published before the pass, so that every write from now on keeps its row's norm current itself.
                v = new View(m, v.rows(), v.wordBytes());
                view = v;
            }
            long rows = v.rows();
            if (control.normsRows() >= rows) {
                return;
            }
            Mapping mapping = m;
            final int block = 4096;
            LongStream.range(0, (rows + block - 1) / block).parallel().forEach(b -> {
                for (long row = b * block, end = Math.min(rows, row + block); row < end; row++) {
                    storeNorm(mapping, row);
                }
            });
            mapping.norms().force();
            control.normsRows(rows);
        }
    }

    /**
     * Stores the norm of {@code row} unless a concurrent write changes the row meanwhile, in which case it reads the
     * row again: the norm is stored before the sequence is checked (a full fence between), so either this store
     * comes before the write's, which overwrites it, or the check sees the write and retries.
     */
    private void storeNorm(Mapping m, long row) {
        long at = NpyHeader.BYTES + row * rowBytes;
        while (true) {
            int begin = RowSeqlock.readBegin(m.seq(), row);
            if ((begin & 1) != 0) {
                if (damaged.contains(row)) {
                    // Stays odd until rewritten, and the rewrite stores the norm; queries skip the row meanwhile.
                    return;
                }
                // Only this process writes, and a write is short.
                Thread.onSpinWait();
                continue;
            }
            RowNorms.set(m.norms(), row, RowNorms.of(m.matrix(), dtype, at, dim));
            java.lang.invoke.VarHandle.fullFence();
            if (RowSeqlock.readValidate(m.seq(), row, begin)) {
                return;
            }
        }
    }

    private List<List<Neighbor>> search(float[][] queries, int k, long[] excluded, String[] names, long candidateRows) {
        SimilarityKernel kernel = this.kernel != null ? this.kernel : SimilarityKernel.selected();
        return search(queries, k, excluded, names, candidateRows, kernel);
    }

    /** The one similarity path: checks, norms, scan, rescoring. */
    private List<List<Neighbor>> search(float[][] queries, int k, long[] excluded, String[] names, long candidateRows,
                                        SimilarityKernel kernel) {
        ensureOpen();
        if (k < 0) {
            throw new IllegalArgumentException("k must be at least 0: k=" + k);
        }
        if (candidateRows < 0) {
            throw new IllegalArgumentException("candidateRows must be at least 0: candidateRows=" + candidateRows);
        }
        float[][] unit = new float[queries.length][];
        for (int q = 0; q < queries.length; q++) {
            unit[q] = unitQuery(queries[q], names[q]);
        }
        prepareNorms();
        View v = view;
        long rows = Math.min(v.rows(), candidateRows); // rows after these are never candidates: the scan stops here
        Mapping m = v.mapping();
        MemorySegment norms = trustedNorms(v);
        long[] damagedRows = damaged.rows();
        if (damagedRows.length != 0) {
            // A damaged row's values are unknown: never a neighbour (its consistent rescoring read would throw).
            excluded = LongStream.concat(Arrays.stream(excluded), Arrays.stream(damagedRows)).toArray();
        }
        int wanted = (int) Math.min(rows, (long) k + excluded.length);
        List<List<SimilarityScan.Hit>> hits = k == 0 ? null : SimilarityScan.scan(m.matrix(), NpyHeader.BYTES, dtype, rows,
                dim, paddingIndex, norms, unit, wanted, kernel);
        List<List<Neighbor>> out = new ArrayList<>(queries.length);
        float[] row = new float[dim];
        for (int q = 0; q < queries.length; q++) {
            if (k == 0) {
                out.add(List.of());
                continue;
            }
            List<Neighbor> found = new ArrayList<>();
            for (SimilarityScan.Hit hit : hits.get(q)) {
                if (contains(excluded, hit.row())) {
                    continue;
                }
                copyRow(m, hit.row(), row, null, 0, ReadMode.CONSISTENT);
                double cosine = cosine(queries[q], row);
                if (!Double.isNaN(cosine)) {
                    found.add(new Neighbor(hit.row(), manifest.vocabulary() ? word(v, hit.row()) : null, (float) cosine));
                }
            }
            found.sort(Comparator.comparingDouble((Neighbor n) -> -n.similarity()).thenComparingLong(Neighbor::row));
            out.add(List.copyOf(found.subList(0, Math.min(k, found.size()))));
        }
        return out;
    }

    /**
     * The writer brings {@code norms.f32} up to date (creating it on the first query); a reader maps it when the
     * writer created it after the reader opened.
     */
    private void prepareNorms() {
        if (writable) {
            if (view.mapping().norms() == null || control.normsRows() < view.rows()) {
                computeNorms();
            }
        } else if (view.mapping().norms() == null && control.normsRows() > 0) {
            synchronized (appendLock) {
                View v = view;
                if (v.mapping().norms() == null) {
                    MemorySegment norms = mapNormsIfPresent(arena, dir, v.mapping().capacity(), false);
                    if (norms != null) {
                        view = new View(v.mapping().withNorms(norms), v.rows(), v.wordBytes());
                    }
                }
            }
        }
    }

    /** The norms of {@code v} when they are current for all its rows and their writer did not die; else null. */
    private MemorySegment trustedNorms(View v) {
        MemorySegment norms = v.mapping().norms();
        if (norms == null || control.normsRows() < v.rows() || !writerAliveOrNone()) {
            return null;
        }
        return norms;
    }

    /** Whether no writer holds the store or the one named in the control block is running. */
    private boolean writerAliveOrNone() {
        long pid = control.writerPid();
        return pid == 0 || pid == ProcessHandle.current().pid()
                || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The query scaled to norm 1, checked. */
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

    private double[] unitVector(View v, long row, String word) {
        float[] x = new float[dim];
        copyRow(v.mapping(), row, x, null, 0, ReadMode.CONSISTENT);
        double sum = 0;
        for (float f : x) {
            sum += (double) f * f;
        }
        if (sum == 0 || !Double.isFinite(sum)) {
            throw new IllegalArgumentException("word '" + word + "' (row " + row + ") has a "
                    + (sum == 0 ? "zero" : "non-finite") + " vector: its cosine similarity is undefined");
        }
        double inverse = 1 / Math.sqrt(sum);
        double[] unit = new double[dim];
        for (int i = 0; i < dim; i++) {
            unit[i] = x[i] * inverse;
        }
        return unit;
    }

    /** Cosine in double; NaN when the row is zero or not finite. */
    private static double cosine(float[] q, float[] x) {
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

    /** The row of {@code word} in {@code v}. */
    private long requireRow(View v, String word) {
        long row = rowOf(v, word);
        if (row < 0) {
            throw new IllegalArgumentException("word '" + word + "' is not in the store " + dir);
        }
        return row;
    }

    private long rowOf(View v, String word) {
        Mapping m = vocabularyMapping(v);
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        return m.index().lookup(utf8, m.words(), v.wordBytes(), v.rows(), wordsFile);
    }

    private String word(View v, long row) {
        Mapping m = vocabularyMapping(v);
        long record = m.offsets().get(LONG_LE, row * Long.BYTES);
        return VocabularyIndex.word(m.words(), record, v.wordBytes(), row, wordsFile);
    }

    /** Makes this store's queries use {@code kernel} (null: the one selected for the JVM), so tests can run both. */
    void useKernel(SimilarityKernel kernel) {
        this.kernel = kernel;
    }

    // ------------------------------------------------------------------------------------------------ writes

    /** Writes {@code src[0, dim)} into row {@code row}; readers never see the row half written. */
    public void write(long row, float[] src) {
        write(row, src, 0);
    }

    /**
     * Writes {@code src[offset, offset + dim)} into row {@code row}. Rewriting a damaged row makes it healthy again
     * (durably: the row reaches the disk before it leaves {@code damaged.rows}).
     *
     * @throws IllegalArgumentException for the padding row, which is never written
     * @throws StoreException           if writing the row's bytes fails part way (an I/O fault in the mapped file):
     *                                  the row is then damaged, and reads of it fail until it is rewritten
     */
    public void write(long row, float[] src, int offset) {
        View v = view;
        ensureWritable();
        Objects.checkIndex(row, v.rows());
        Objects.checkFromIndexSize(offset, dim, src.length);
        if (row == paddingIndex) {
            throw new IllegalArgumentException("row " + row + " is the padding row: it stays zero and is never written");
        }
        if (checksumsCurrent) {
            invalidateChecksums();
        }
        Mapping m = v.mapping();
        long at = NpyHeader.BYTES + row * rowBytes;
        int next = RowSeqlock.beginWrite(m.seq(), row);
        try {
            putRow(m.matrix(), dtype, at, src, offset, dim);
            if (m.norms() != null) {
                RowNorms.set(m.norms(), row, RowNorms.of(m.matrix(), dtype, at, dim));
            }
        } catch (Throwable t) {
            // Part of the row may be written (a fault in a mapped write surfaces as an InternalError): its counter stays
            // odd, and the mark tells readers, this one included, that no write is coming to complete it.
            throw markDamaged(row, t);
        }
        RowSeqlock.endWrite(m.seq(), row, next);
        if (damaged.rows().length != 0) {
            damaged.remove(row, () -> {
                m.matrix().asSlice(NpyHeader.BYTES + row * rowBytes, rowBytes).force();
                m.seq().asSlice(row * Integer.BYTES, Integer.BYTES).force();
            });
        }
    }

    /** Records {@code row} as damaged after its write failed with {@code cause}; returns the exception to throw. */
    private StoreException markDamaged(long row, Throwable cause) {
        String unrecorded = damaged.add(row, cause);
        return new StoreException(dir, "writing row " + row + " failed, so the row is damaged: its content is"
                + " unknown and reads of it fail until it is rewritten with write(" + row + ", vector)" + unrecorded,
                cause);
    }

    private void invalidateChecksums() {
        synchronized (appendLock) {
            if (checksumsCurrent) {
                StoreChecksums.delete(dir);
                checksumsCurrent = false;
            }
        }
    }

    /**
     * Appends a row for a new word and returns its row number. The files grow (never shrink) as needed; readers in
     * other processes see the row after their next {@link #refresh()}.
     *
     * @throws IllegalArgumentException if the word is already present
     */
    public long append(String word, float[] vector) {
        ensureWritable();
        if (!manifest.vocabulary()) {
            throw new IllegalStateException(dir + " has no vocabulary: use appendRow(vector)");
        }
        return appendInternal(VocabularyIndex.encode(word), word, vector);
    }

    /** Appends a row to a store without a vocabulary and returns its row number. */
    public long appendRow(float[] vector) {
        ensureWritable();
        if (manifest.vocabulary()) {
            throw new IllegalStateException(dir + " has a vocabulary: use append(word, vector)");
        }
        return appendInternal(null, null, vector);
    }

    private long appendInternal(byte[] utf8, String word, float[] vector) {
        if (vector.length != dim) {
            throw new IllegalArgumentException("vector has " + vector.length + " values, the store's dim is " + dim);
        }
        if (checksumsCurrent) {
            invalidateChecksums();
        }
        synchronized (appendLock) {
            View v = view;
            long row = v.rows();
            if (row >= MAX_ROWS) {
                throw new StoreException(dir, "the store is full: " + MAX_ROWS + " rows");
            }
            Mapping m = v.mapping();
            if (utf8 != null) {
                long existing = m.index().lookup(utf8, m.words(), v.wordBytes(), row, wordsFile);
                if (existing >= 0) {
                    throw new IllegalArgumentException("word '" + word + "' is already in the store at row " + existing);
                }
            }
            m = ensureCapacity(m, row + 1);
            reserveForAppend(m, row + 1, utf8 == null ? 0 : v.wordBytes() + VocabularyIndex.recordBytes(utf8));
            long rowAt = NpyHeader.BYTES + row * rowBytes;
            int next = RowSeqlock.beginWrite(m.seq(), row);
            try {
                putRow(m.matrix(), dtype, rowAt, vector, 0, dim);
                if (m.norms() != null) {
                    RowNorms.set(m.norms(), row, RowNorms.of(m.matrix(), dtype, rowAt, dim));
                }
            } catch (Throwable t) {
                // Not published: no reader can see the row, and the next append writes it whole.
                RowSeqlock.endWrite(m.seq(), row, next);
                throw new StoreException(dir, "appending row " + row + " failed; nothing was appended", t);
            }
            RowSeqlock.endWrite(m.seq(), row, next);
            long wordBytes = v.wordBytes();
            if (utf8 != null) {
                long at = wordBytes;
                wordBytes = at + VocabularyIndex.recordBytes(utf8);
                m = ensureWordBytes(m, wordBytes);
                VocabularyIndex.writeRecord(m.words(), at, row, utf8);
                m.offsets().set(LONG_LE, row * Long.BYTES, at);
                if ((row + 1) * 2 > m.index().slots()) {
                    m = rebuildIndex(m, row, VocabularyIndex.slotsFor(row + 1));
                }
                m.index().insert(m.words(), at);
                control.wordBytes(wordBytes);
            }
            if (m.norms() != null && control.normsRows() == row) {
                control.normsRows(row + 1);
            }
            control.liveRows(row + 1);
            view = new View(m, row + 1, wordBytes);
            control.bumpGeneration();
            return row;
        }
    }

    /** Grows the matrix, sequence and offset files to hold {@code rows}; by half again at least, so appends are amortised. */
    private Mapping ensureCapacity(Mapping m, long rows) {
        if (rows <= m.capacity()) {
            return m;
        }
        long capacity = Math.min(MAX_ROWS, Math.max(rows, Math.max(64, m.capacity() + m.capacity() / 2)));
        MemorySegment matrix = mapGrowing(dir.resolve(MATRIX_FILE), NpyHeader.BYTES + capacity * rowBytes);
        MemorySegment seq = mapGrowing(dir.resolve(RowSeqlock.FILE), RowSeqlock.fileBytes(capacity));
        MemorySegment offsets = manifest.vocabulary()
                ? mapGrowing(dir.resolve(VocabularyIndex.OFFSETS_FILE), capacity * Long.BYTES) : null;
        MemorySegment norms = m.norms() != null ? mapGrowing(dir.resolve(RowNorms.FILE), RowNorms.fileBytes(capacity)) : null;
        Mapping grown = new Mapping(capacity, matrix, seq, offsets, m.words(), m.index(), norms);
        // Files are extended before capacity is released, so a reader that sees it can map that much.
        control.capacity(capacity);
        return grown;
    }

    /**
     * Reserves the disk blocks an append writes through the mappings (row {@code rows - 1} in every file indexed by
     * row, word records up to {@code wordBytes}) before it writes anything: on a full disk a write into a sparse
     * region faults, where this throws a {@link StoreException} and the store stays as it was. Reserved
     * {@link #RESERVE_STEP} bytes of rows ahead where that fits, so that most appends make no call; a file only
     * grows.
     */
    private void reserveForAppend(Mapping m, long rows, long wordBytes) {
        if (rows > reservedRows) {
            long ahead = Math.min(m.capacity(), Math.max(rows, reservedRows + Math.max(1, RESERVE_STEP / rowBytes)));
            try {
                reserveRows(m, reservedRows, ahead);
                reservedRows = ahead;
            } catch (StoreException e) {
                if (ahead == rows) {
                    throw e;
                }
                reserveRows(m, reservedRows, rows);
                reservedRows = rows;
            }
        }
        if (wordBytes > reservedWordBytes) {
            Path file = dir.resolve(VocabularyIndex.WORDS_FILE);
            long ahead = Math.max(wordBytes, reservedWordBytes + RESERVE_STEP / 4);
            try {
                FileSpace.reserve(file, reservedWordBytes, ahead);
                reservedWordBytes = ahead;
            } catch (StoreException e) {
                FileSpace.reserve(file, reservedWordBytes, wordBytes);
                reservedWordBytes = wordBytes;
            }
        }
    }

    private void reserveRows(Mapping m, long from, long to) {
        FileSpace.reserve(dir.resolve(MATRIX_FILE), NpyHeader.BYTES + from * rowBytes, NpyHeader.BYTES + to * rowBytes);
        FileSpace.reserve(dir.resolve(RowSeqlock.FILE), RowSeqlock.fileBytes(from), RowSeqlock.fileBytes(to));
        if (manifest.vocabulary()) {
            FileSpace.reserve(dir.resolve(VocabularyIndex.OFFSETS_FILE), from * Long.BYTES, to * Long.BYTES);
        }
        if (m.norms() != null) {
            FileSpace.reserve(dir.resolve(RowNorms.FILE), RowNorms.fileBytes(from), RowNorms.fileBytes(to));
        }
    }

    private Mapping ensureWordBytes(Mapping m, long bytes) {
        if (bytes <= m.words().byteSize()) {
            return m;
        }
        long size = Math.max(bytes, Math.max(4096, m.words().byteSize() * 2));
        MemorySegment words = mapGrowing(dir.resolve(VocabularyIndex.WORDS_FILE), size);
        return new Mapping(m.capacity(), m.matrix(), m.seq(), m.offsets(), words, m.index(), m.norms());
    }

    /** Builds a larger index for rows [0, rows) in a temporary file, renames it over vocab.index, bumps index_epoch. */
    private Mapping rebuildIndex(Mapping m, long rows, long slots) {
        Path file = dir.resolve(VocabularyIndex.INDEX_FILE);
        Path tmp = dir.resolve(VocabularyIndex.INDEX_FILE + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                // Blocks before the mapping (a full disk faults inside a mapped write); without them nothing stays.
                try {
                    FileSpace.reserve(tmp, 0, VocabularyIndex.fileBytes(slots));
                } catch (StoreException e) {
                    Files.deleteIfExists(tmp);
                    throw e;
                }
                seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, VocabularyIndex.fileBytes(slots), arena);
            }
            VocabularyIndex index = VocabularyIndex.initialize(seg, slots, m.index().epoch() + 1, file);
            for (long r = 0; r < rows; r++) {
                index.insert(m.words(), m.offsets().get(LONG_LE, r * Long.BYTES));
            }
            seg.force();
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            control.indexEpoch(index.epoch());
            return new Mapping(m.capacity(), m.matrix(), m.seq(), m.offsets(), m.words(), index, m.norms());
        } catch (IOException e) {
            throw new StoreException(file, "cannot rebuild the vocabulary index", e);
        }
    }

    /** Bumps the generation so readers polling {@link #generation()} know something changed. No disk I/O. */
    public long publish() {
        ensureWritable();
        return control.bumpGeneration();
    }

    /**
     * Makes rows {@code [fromRow, toRow)} of the matrix durable: msync of just the pages that hold them (the kernel
     * writes only those that are dirty). Nothing else is forced: not the other files, not the .npy header, not the
     * manifest; the generation does not change. For a trainer's checkpoint, which knows exactly which rows it changed.
     *
     * @throws IndexOutOfBoundsException unless {@code 0 <= fromRow <= toRow <= rows()}
     */
    public void force(long fromRow, long toRow) {
        View v = view;
        ensureWritable();
        Objects.checkFromToIndex(fromRow, toRow, v.rows());
        if (fromRow == toRow) {
            return;
        }
        // A slice of a mapped segment forces the pages it overlaps: the JDK rounds the start down to a page.
        v.mapping().matrix().asSlice(NpyHeader.BYTES + fromRow * rowBytes, (toRow - fromRow) * rowBytes).force();
    }

    /**
     * Makes everything written so far durable: msync of the mapped files (the kernel writes only the dirty pages),
     * then the .npy header and the manifest get the current row count, then {@link #publish()}.
     */
    public void flush() {
        ensureWritable();
        flushFiles();
    }

    private void flushFiles() {
        synchronized (appendLock) {
            View v = view;
            Mapping m = v.mapping();
            m.matrix().force();
            m.seq().force();
            if (m.norms() != null) {
                m.norms().force();
            }
            if (manifest.vocabulary()) {
                m.words().force();
                m.offsets().force();
                m.index().segment().force();
            }
            if (v.rows() != flushedRows) {
                NpyHeader.write(m.matrix(), dtype, v.rows(), dim);
                m.matrix().asSlice(0, NpyHeader.BYTES).force();
                try {
                    writeFileDurably(dir.resolve(Manifest.FILE), manifest.withRows(v.rows()).render());
                } catch (IOException e) {
                    throw new StoreException(dir.resolve(Manifest.FILE), "cannot rewrite the manifest", e);
                }
                flushedRows = v.rows();
            }
            control.bumpGeneration();
        }
    }

    /**
     * What {@link #verify()} found.
     *
     * @param rows             rows checked
     * @param checksumsChecked whether recorded checksums existed and were compared (a writer's change deletes them)
     * @param nonFiniteValues  NaN and infinite values in the matrix (allowed, but worth knowing)
     * @param problems         one line per problem, naming the file; empty when the store is sound
     */
    public record Verification(long rows, boolean checksumsChecked, long nonFiniteValues, List<String> problems) {
        /** Whether no problem was found. */
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /**
     * Reads the whole store and checks it: the recorded checksums of every data file (if still current), every word
     * record and that each word's lookup finds its own row, that no row was left half-written, each current norm in
     * norms.f32 against its row, and the matrix values.
     * Reads every byte, so it takes as long as reading the files.
     */
    public Verification verify() {
        ensureOpen();
        List<String> problems = new ArrayList<>();
        boolean checksummed = false;
        java.util.Map<String, StoreChecksums.Entry> recorded;
        try {
            recorded = StoreChecksums.read(dir);
        } catch (StoreException e) {
            problems.add(e.getMessage());
            recorded = null;
        }
        if (recorded != null) {
            checksummed = true;
            for (var entry : recorded.entrySet()) {
                Path file = dir.resolve(entry.getKey());
                try {
                    StoreChecksums.Entry actual = StoreChecksums.compute(file);
                    if (actual.size() != entry.getValue().size()) {
                        problems.add(file + ": " + actual.size() + " bytes, recorded " + entry.getValue().size());
                    } else if (actual.crc() != entry.getValue().crc()) {
                        problems.add(file + ": CRC-32C " + String.format("%08x", actual.crc()) + ", recorded "
                                + String.format("%08x", entry.getValue().crc()) + ": the file is damaged");
                    }
                } catch (NoSuchFileException e) {
                    problems.add(file + ": missing");
                } catch (IOException e) {
                    problems.add(file + ": cannot read: " + e.getMessage());
                }
            }
        }
        View v = view;
        long rows = v.rows();
        MemorySegment seq = v.mapping().seq();
        float[] row = new float[dim];
        long nonFinite = 0;
        // Norms left by a writer that died are not trusted by anyone (the next writer recomputes them): not checked.
        MemorySegment norms = writerAliveOrNone() ? v.mapping().norms() : null;
        long normsRows = norms == null ? 0 : Math.min(rows, control.normsRows());
        for (long r = 0; r < rows; r++) {
            if ((RowSeqlock.readBegin(seq, r) & 1) != 0) {
                problems.add(damaged.contains(r)
                        ? dir.resolve(DamagedRows.FILE) + ": row " + r + " is damaged (a write of it did not complete):"
                                + " rewrite it with write(" + r + ", vector)"
                        : dir.resolve(RowSeqlock.FILE) + ": row " + r + " is marked half-written");
                continue;
            }
            read(r, row, 0, ReadMode.RELAXED);
            for (float x : row) {
                if (!Float.isFinite(x)) {
                    nonFinite++;
                }
            }
            if (r < normsRows) {
                String problem = normProblem(v.mapping(), norms, r);
                if (problem != null) {
                    problems.add(problem);
                }
            }
            if (manifest.vocabulary()) {
                try {
                    String w = word(r);
                    long found = rowOf(w);
                    if (found != r) {
                        problems.add(dir.resolve(VocabularyIndex.INDEX_FILE) + ": the word of row " + r + " ('" + w
                                + "') looks up row " + found);
                    }
                } catch (StoreException e) {
                    problems.add(e.getMessage());
                }
            }
            if (problems.size() >= 100) {
                problems.add("... stopped after 100 problems");
                break;
            }
        }
        return new Verification(rows, checksummed, nonFinite, List.copyOf(problems));
    }

    /**
     * Whether row {@code r}'s recorded norm is the one its values give, or null if it is. The norm is computed exactly as
     * the writer computes it ({@link RowNorms#of}), so the bits must match; both are read inside one unchanged
     * sequence of the row, so a concurrent write is not mistaken for damage. A row that stays under write is skipped.
     */
    private String normProblem(Mapping m, MemorySegment norms, long r) {
        long at = NpyHeader.BYTES + r * rowBytes;
        for (int attempt = 0; attempt < 100_000; attempt++) {
            int begin = RowSeqlock.readBegin(m.seq(), r);
            if ((begin & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            float recorded = RowNorms.get(norms, r);
            float actual = RowNorms.of(m.matrix(), dtype, at, dim);
            if (!RowSeqlock.readValidate(m.seq(), r, begin)) {
                continue;
            }
            if (Float.floatToIntBits(recorded) == Float.floatToIntBits(actual)) {
                return null;
            }
            return dir.resolve(RowNorms.FILE) + ": row " + r + " has norm " + recorded + " but its values give " + actual
                    + ": the file is damaged (delete norms.f32; the writer recomputes it)";
        }
        return null;
    }

    /**
     * Flushes, then records the size and CRC-32C of every data file in {@code checksums.txt} for {@link #verify()}.
     * The writer's next change deletes the record again.
     */
    public void recordChecksums() {
        ensureWritable();
        synchronized (appendLock) {
            flushFiles();
            try {
                StoreChecksums.record(dir);
            } catch (IOException e) {
                throw new StoreException(dir.resolve(StoreChecksums.FILE), "cannot record checksums", e);
            }
            checksumsCurrent = true;
        }
    }

    /**
     * Picks up what the writer appended since this reader opened or last refreshed: new rows, grown files, a rebuilt
     * index. Cheap when nothing changed (a few reads of the control block). Returns whether the row count changed.
     * For the writer it does nothing and returns false.
     */
    public boolean refresh() {
        ensureOpen();
        if (writable) {
            return false;
        }
        synchronized (appendLock) {
            View v = view;
            long rows = control.liveRows();
            if (rows == v.rows()) {
                return false;
            }
            long capacity = control.capacity();
            long wordBytes = control.wordBytes();
            if (rows < v.rows() || rows > capacity || wordBytes < v.wordBytes()) {
                throw new StoreException(dir.resolve(CONTROL_FILE), "control block went backwards or is damaged: live_rows "
                        + rows + ", capacity " + capacity + ", word_bytes " + wordBytes);
            }
            Mapping m = mapAll(arena, dir, manifest, capacity, wordBytes, v.mapping(), false);
            if (manifest.vocabulary() && control.indexEpoch() != m.index().epoch()) {
                m = new Mapping(m.capacity(), m.matrix(), m.seq(), m.offsets(), m.words(), mapIndex(arena, dir, false),
                        m.norms());
            }
            view = new View(m, rows, wordBytes);
            return true;
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException(dir + " is closed");
        }
    }

    private void ensureWritable() {
        ensureOpen();
        if (!writable) {
            throw new IllegalStateException(dir + " is open read-only: use EmbeddingStore.openForWriting");
        }
    }

    /**
     * Flushes (for the writer), releases the writer lock and unmaps every file. Idempotent. Segments from
     * {@link #rowSegment} are invalid afterwards.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if (writable) {
                flushFiles();
                control.writerPid(0);
            }
        } finally {
            arena.close();
            if (lock != null) {
                try {
                    lock.close();
                } catch (IOException e) {
                    throw new StoreException(dir.resolve(WriterLock.FILE), "cannot release the writer lock", e);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "EmbeddingStore[" + dir + ", " + rows() + " x " + dim + " " + dtype.label()
                + (writable ? ", writable" : ", read-only") + "]";
    }
}
