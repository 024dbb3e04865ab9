package io.embstore.store;

import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import io.embstore.store.io.MappedFile;
import io.embstore.store.io.MappingAdvice;
import io.embstore.store.io.NpyHeader;
import io.embstore.store.io.Phases;
import io.embstore.store.io.FileSpace;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A store under construction in a hidden temporary sibling of its final path. Rows and words are put straight into
 * mapped files from any number of threads; {@link #commit} deduplicates words, compacts rows, builds the hash index,
 * trims every file to its exact size, forces it all to disk and renames the directory into place. A draft closed
 * without a commit deletes itself, so a failed creation or conversion leaves nothing behind.
 */
final class StoreDraft implements Draft {
    /** The records in row order, written by the commit; renamed over {@code vocab.words} once unmapped. */
    private static final String ORDERED_WORDS_FILE = VocabularyIndex.WORDS_FILE + ".ordered";
    /**
     * How far ahead of the rows put their disk blocks are reserved: few enough calls for a bulk load, little enough
     * reserved beyond the last row (the commit trims it).
     */
    private static final long RESERVE_STEP = 64L << 20;

    private final Path target;
    private final Path temp;
    private final int dim;
    private final Dtype dtype;
    private final long rowBytes;
    private final boolean vocabulary;
    private final long paddingIndex;
    private final Arena arena = Arena.ofShared();
    private final MappingAdvice advice;
    private final AtomicLong wordCursor = new AtomicLong();
    private MemorySegment matrix;
    private MemorySegment offsets;
    private MemorySegment words;
    private long capacity;
    private boolean finished;
    private boolean computeNorms;
    private SubwordLayout subwords;
    /**
     * norms.f32 while every row's norm is computed as the row is put (norms were asked for before the first row), so
     * that the commit need not read the matrix back; null otherwise.
     */
    private MemorySegment norms;
    /** Whether a row was put: norms asked for later are computed from the matrix at commit. Only goes false to true. */
    private boolean rowsPut;
    private final DraftFlusher flusher = new DraftFlusher();
    /** Rows whose disk blocks are reserved in every file indexed by row (see {@link #reserveRows}). */
    private volatile long reservedRows;
    /** Bytes of {@code vocab.words} whose disk blocks are reserved. */
    private volatile long reservedWordBytes;

    StoreDraft(Path target, int dim, Dtype dtype, boolean vocabulary, long paddingIndex, long capacity) {
        this.target = target.toAbsolutePath();
        this.advice = new MappingAdvice(this.target);
        this.dim = dim;
        this.dtype = dtype;
        this.rowBytes = dtype.rowBytes(dim);
        this.vocabulary = vocabulary;
        this.paddingIndex = paddingIndex;
        if (Files.exists(this.target)) {
            throw new StoreException(StoreException.Kind.IO, this.target,
                    "already exists: choose a new path or delete it first");
        }
        Path parent = this.target.getParent();
        Path created = null;
        try {
            Files.createDirectories(parent);
            sweepStale(this.target);
            created = TempSibling.createDirectory(this.target);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.of(e), this.target, "cannot start building the store", e);
        }
        this.temp = created;
        try {
            this.matrix = MappedFile.createMapped(arena, temp.resolve(EmbeddingStore.MATRIX_FILE), NpyHeader.BYTES);
            reserve(EmbeddingStore.MATRIX_FILE, 0, NpyHeader.BYTES);
            if (vocabulary) {
                this.offsets = MappedFile.createMapped(arena, temp.resolve(VocabularyIndex.OFFSETS_FILE), 0);
                this.words = MappedFile.createMapped(arena, temp.resolve(VocabularyIndex.WORDS_FILE), 0);
            }
            ensureCapacity(capacity);
        } catch (IOException e) {
            abort();
            throw new StoreException(StoreException.Kind.of(e), this.target, "cannot start building the store", e);
        } catch (RuntimeException | Error e) {
            // Sizing fails too (no space, a file larger than the file system allows): nothing may stay behind.
            abort();
            throw e;
        }
    }

    /**
     * Removes what builds of {@code target} by processes no longer running left behind (their temporary directories),
     * logging each removal; a build by a live process is left alone. Returns what was removed.
     */
    static java.util.List<Path> sweepStale(Path target) throws IOException {
        java.util.List<Path> removed = TempSibling.sweepStale(target);
        for (Path p : removed) {
            System.getLogger(StoreDraft.class.getName()).log(System.Logger.Level.INFO,
                    "removed " + p + ", left by an earlier build of " + target + " whose process is no longer running");
        }
        return removed;
    }

    @Override
    public Path path() {
        return target;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public Dtype dtype() {
        return dtype;
    }

    @Override
    public boolean hasVocabulary() {
        return vocabulary;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    /** The draft's matrix mapping as it is now (tests read its advice back). */
    MemorySegment matrixMapping() {
        return matrix;
    }

    @Override
    public void ensureCapacity(long rows) {
        checkOpen();
        if (rows < 0 || rows > EmbeddingStore.MAX_ROWS) {
            throw new IllegalArgumentException("rows must be in [0, " + EmbeddingStore.MAX_ROWS + "]: " + rows);
        }
        if (rows <= capacity) {
            return;
        }
        matrix = grow(EmbeddingStore.MATRIX_FILE, NpyHeader.BYTES + rows * rowBytes);
        // A draft's matrix is written front to back once (create's initialisation, a conversion) and read back in
        // order by the commit's checksum: sequential advice reads ahead far and lets the kernel reclaim the pages
        // behind first, which a table larger than memory needs while it is built. The store, once open, advises the
        // same file random (StoreMapping.adviseRows): advice belongs to a mapping.
        advice.sequential(matrix, temp.resolve(EmbeddingStore.MATRIX_FILE));
        flusher.target(matrix);
        if (rows * rowBytes >= DraftFlusher.FLUSH_STEP) {
            flusher.start();
        }
        if (vocabulary) {
            offsets = grow(VocabularyIndex.OFFSETS_FILE, rows * Long.BYTES);
        }
        if (norms != null) {
            norms = grow(RowNorms.FILE, RowNorms.fileBytes(rows));
        }
        capacity = rows;
    }

    @Override
    public void ensureWordCapacity(long bytes) {
        checkOpen();
        if (!vocabulary) {
            throw new IllegalStateException("this draft has no vocabulary");
        }
        if (bytes > words.byteSize()) {
            words = grow(VocabularyIndex.WORDS_FILE, bytes);
        }
    }

    /**
     * Reserves disk blocks for rows {@code [reservedRows, rows)} of every file indexed by row, ahead of the rows'
     * writes through the mappings (a write into a sparse region the file system cannot back is a fault, not an
     * error). The capacity is a bound (a converter sizes the draft for the most rows its input could hold), so the
     * blocks are reserved as rows arrive rather than when the draft is sized: {@link #RESERVE_STEP} bytes of rows
     * ahead, or only as many rows as asked for when the step does not fit.
     */
    synchronized void reserveRows(long rows) {
        if (rows <= reservedRows) {
            return;
        }
        long step = Math.max(1, RESERVE_STEP / Math.max(1, rowBytes));
        long ahead = Math.min(capacity, Math.max(rows, reservedRows + step));
        if (ahead > rows) {
            try {
                reserveRowRange(reservedRows, ahead);
                reservedRows = ahead;
                return;
            } catch (StoreException e) {
                // Not that much room: exactly what is needed, below.
            }
        }
        reserveRowRange(reservedRows, rows);
        reservedRows = rows;
    }

    private void reserveRowRange(long from, long to) {
        reserve(EmbeddingStore.MATRIX_FILE, NpyHeader.BYTES + from * rowBytes, NpyHeader.BYTES + to * rowBytes);
        if (vocabulary) {
            reserve(VocabularyIndex.OFFSETS_FILE, from * Long.BYTES, to * Long.BYTES);
        }
        if (norms != null) {
            reserve(RowNorms.FILE, RowNorms.fileBytes(from), RowNorms.fileBytes(to));
        }
    }

    /** As {@link #reserveRows}, for the word records: bytes {@code [0, bytes)} of {@code vocab.words}. */
    private synchronized void reserveWordBytes(long bytes) {
        if (bytes <= reservedWordBytes) {
            return;
        }
        long ahead = Math.min(words.byteSize(), Math.max(bytes, reservedWordBytes + RESERVE_STEP / 4));
        if (ahead > bytes) {
            try {
                reserve(VocabularyIndex.WORDS_FILE, reservedWordBytes, ahead);
                reservedWordBytes = ahead;
                return;
            } catch (StoreException e) {
                // As for rows: exactly what is needed, below.
            }
        }
        reserve(VocabularyIndex.WORDS_FILE, reservedWordBytes, bytes);
        reservedWordBytes = bytes;
    }

    /** Reserves bytes {@code [from, to)} of the draft's {@code file}; an error names the store being built. */
    private void reserve(String file, long from, long to) {
        FileSpace.reserve(temp.resolve(file), from, to, target, target.resolve(file));
    }

    private MemorySegment grow(String file, long bytes) {
        try (FileChannel ch = FileChannel.open(temp.resolve(file), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // Mapping past the end extends the file (sparsely); the old mapping stays valid until the draft ends.
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw FileSpace.extendFailed(target, target.resolve(file), bytes, e);
        }
    }

    @Override
    public void putRow(long row, float[] src, int offset) {
        checkRow(row);
        java.util.Objects.checkFromIndexSize(offset, dim, src.length);
        if (dtype.quantized()) {
            QuantizedRows.check(dtype, src, offset, dim, row, null);
        }
        if (row >= reservedRows) {
            reserveRows(row + 1);
        }
        long at = NpyHeader.BYTES + row * rowBytes;
        WritableStore.putRow(matrix, dtype, at, src, offset, dim);
        if (!rowsPut) {
            rowsPut = true;
        }
        MemorySegment n = norms;
        if (n != null) {
            // A quantized row's norm is that of its dequantized values: read back from the row just written (in cache)
            // rather than quantized a second time.
            RowNorms.set(n, row, dtype.quantized() ? RowNorms.of(matrix, dtype, at, dim) : RowNorms.of(src, offset, dim, dtype));
        }
    }

    @Override
    public void putWord(long row, MemorySegment utf8) {
        checkRow(row);
        if (!vocabulary) {
            throw new IllegalStateException("this draft has no vocabulary");
        }
        long len = utf8.byteSize();
        if (len > VocabularyIndex.MAX_WORD_BYTES) {
            throw new IllegalArgumentException("word of row " + row + " is " + len + " bytes of UTF-8, at most "
                    + VocabularyIndex.MAX_WORD_BYTES + " are allowed");
        }
        long bytes = VocabularyIndex.RECORD_HEADER_BYTES + len;
        long at = wordCursor.getAndAdd(bytes);
        MemorySegment w = words;
        if (at + bytes > w.byteSize()) {
            throw new IllegalStateException("word capacity " + w.byteSize() + " exceeded: call ensureWordCapacity first");
        }
        if (row >= reservedRows) {
            reserveRows(row + 1);
        }
        if (at + bytes > reservedWordBytes) {
            reserveWordBytes(at + bytes);
        }
        w.set(VocabularyIndex.INT_U, at, (int) row);
        w.set(VocabularyIndex.INT_U, at + 4, (int) len);
        MemorySegment.copy(utf8, 0, w, at + VocabularyIndex.RECORD_HEADER_BYTES, len);
        offsets.set(VocabularyIndex.LONG, row * Long.BYTES, at);
    }

    @Override
    public void subwords(SubwordLayout layout) {
        checkOpen();
        if (!vocabulary) {
            throw new IllegalArgumentException("subwords need a vocabulary: the word rows are looked up by word");
        }
        this.subwords = layout;
    }

    @Override
    public void computeNormsOnCommit(boolean compute) {
        checkOpen();
        this.computeNorms = compute;
        if (compute && norms == null && !rowsPut) {
            try {
                norms = MappedFile.createMapped(arena, temp.resolve(RowNorms.FILE), RowNorms.fileBytes(capacity));
            } catch (IOException e) {
                throw new StoreException(StoreException.Kind.of(e), temp.resolve(RowNorms.FILE),
                        "cannot create the file", e);
            }
            synchronized (this) {
                reserve(RowNorms.FILE, 0, RowNorms.fileBytes(reservedRows));
            }
        }
    }

    @Override
    public long wordBytes() {
        return wordCursor.get();
    }

    private void checkRow(long row) {
        checkOpen();
        java.util.Objects.checkIndex(row, capacity);
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("this draft was committed or closed");
        }
    }

    @Override
    public long commit(long rows, OnDuplicate onDuplicate, DuplicateListener listener) {
        checkOpen();
        if (rows < 0 || rows > capacity) {
            throw new IllegalArgumentException("rows " + rows + " is outside [0, capacity=" + capacity + "]");
        }
        if (paddingIndex >= rows) {
            throw new IllegalArgumentException("padding index " + paddingIndex + " is outside [0, " + rows + ")");
        }
        if (subwords != null && subwords.wordRows() + subwords.buckets() > rows) {
            throw new IllegalArgumentException("the subword rows " + subwords + " do not fit in " + rows + " rows");
        }
        // Rows never put (zeros) are written too: the padding row, the .npy header's row count, moved rows.
        reserveRows(rows);
        // A force the flusher is in goes on beside the commit's own: it is waited for before anything is unmapped.
        flusher.askToStop();
        Phases.ended("commit");
        // The disk and the cores work at the same time: the rows go to disk while the words are indexed and the
        // rows checksummed. Each force is final only when it starts after the last change to its file, so the
        // ones that may start too early (the matrix, changed by duplicates) are repeated at the end; a repeat
        // writes only the pages changed since.
        CommitTasks background = new CommitTasks();
        try {
            background.force(matrix);
            long bodyBytes = rows * rowBytes;
            java.util.concurrent.Future<StoreChecksums.Entry> bodyCrc = background.compute(() ->
                    StoreChecksums.compute(matrix.asSlice(NpyHeader.BYTES, bodyBytes)));
            long kept = rows;
            long wordBytes = 0;
            boolean rowsMoved = false;
            MemorySegment orderedWords = null;
            VocabularyIndex index = null;
            if (vocabulary) {
                VocabularyBuild built = buildVocabulary(rows, onDuplicate, listener);
                kept = built.kept();
                wordBytes = built.wordBytes();
                rowsMoved = built.rowsMoved();
                orderedWords = built.words();
                index = built.index();
                Phases.ended("vocabulary");
                background.force(index.segment());
                background.force(orderedWords);
                background.force(offsets);
            }
            if (paddingIndex >= 0) {
                matrix.asSlice(NpyHeader.BYTES + paddingIndex * rowBytes, rowBytes).fill((byte) 0);
                rowsMoved = true;
                if (norms != null) {
                    RowNorms.set(norms, paddingIndex, 0f);
                }
            }
            MatrixHeader.write(matrix, dtype, kept, dim);
            MemorySegment normsOut = null;
            if (computeNorms) {
                normsOut = norms != null ? norms : writeNorms(kept);
                background.force(normsOut);
            }
            Phases.ended("norms");
            java.util.Map<String, StoreChecksums.Entry> sums = new java.util.HashMap<>();
            StoreChecksums.Entry body = background.join(bodyCrc);
            if (rowsMoved || kept != rows) {
                body = StoreChecksums.compute(matrix.asSlice(NpyHeader.BYTES, kept * rowBytes));
            }
            StoreChecksums.Entry header = StoreChecksums.compute(matrix.asSlice(0, NpyHeader.BYTES));
            sums.put(EmbeddingStore.MATRIX_FILE, new StoreChecksums.Entry(header.size() + body.size(),
                    StoreChecksums.combine((int) header.crc(), (int) body.crc(), body.size()) & 0xffffffffL));
            if (vocabulary) {
                sums.put(VocabularyIndex.WORDS_FILE, StoreChecksums.compute(orderedWords.asSlice(0, wordBytes)));
                sums.put(VocabularyIndex.OFFSETS_FILE, StoreChecksums.compute(offsets.asSlice(0, kept * Long.BYTES)));
                sums.put(VocabularyIndex.INDEX_FILE, StoreChecksums.compute(index.segment()));
            }
            if (computeNorms) {
                sums.put(RowNorms.FILE, StoreChecksums.compute(normsOut.asSlice(0, RowNorms.fileBytes(kept))));
            }
            Phases.ended("checksums");
            background.force(matrix);
            Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, dtype, dim, kept, vocabulary, paddingIndex, subwords);
            byte[] manifestBytes = manifest.render().getBytes(StandardCharsets.UTF_8);
            sums.put(Manifest.FILE, StoreChecksums.compute(MemorySegment.ofArray(manifestBytes)));
            long finalRows = kept;
            long finalWordBytes = wordBytes;
            background.run(() -> writeNewFile(RowSeqlock.FILE, RowSeqlock.fileBytes(finalRows), null));
            background.run(() -> writeNewFile(EmbeddingStore.CONTROL_FILE, ControlBlock.BYTES,
                    ControlBlock.fresh(finalRows, finalRows, finalWordBytes, computeNorms ? finalRows : 0)));
            background.run(() -> writeNewFile(WriterLock.FILE, 0, null));
            background.run(() -> writeNewFile(Manifest.FILE, -1, ByteBuffer.wrap(manifestBytes)));
            background.run(() -> StoreChecksums.write(temp, sums));
            background.finish();
            flusher.stop();
            Phases.ended("forced");
            finished = true;
            arena.close();
            // Unmapped now, so trimming the files to their exact sizes cannot fault anyone.
            background = new CommitTasks();
            long matrixBytes = NpyHeader.BYTES + kept * rowBytes;
            background.run(() -> trim(EmbeddingStore.MATRIX_FILE, matrixBytes));
            if (vocabulary) {
                background.run(() -> trim(VocabularyIndex.OFFSETS_FILE, finalRows * Long.BYTES));
                background.run(() -> {
                    // The records as put (in the order the threads put them) gave way to the ordered copy.
                    Files.delete(temp.resolve(VocabularyIndex.WORDS_FILE));
                    Files.move(temp.resolve(ORDERED_WORDS_FILE), temp.resolve(VocabularyIndex.WORDS_FILE));
                    trim(VocabularyIndex.WORDS_FILE, finalWordBytes);
                });
            }
            if (computeNorms) {
                background.run(() -> trim(RowNorms.FILE, RowNorms.fileBytes(finalRows)));
            } else if (norms != null) {
                // Asked for, then not: the norms computed meanwhile go.
                background.run(() -> Files.delete(temp.resolve(RowNorms.FILE)));
            }
            background.finish();
            DurableFiles.forceDirectory(temp);
            try {
                DurableFiles.publishDirectory(temp, target);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                throw new StoreException(StoreException.Kind.IO, target,
                        "already exists: another process created it at the same time");
            } catch (AtomicMoveNotSupportedException e) {
                throw new StoreException(StoreException.Kind.IO, target, "the file system cannot rename atomically", e);
            }
            Phases.ended("renamed");
            return kept;
        } catch (IOException e) {
            background.abandon();
            abort();
            throw new StoreException(StoreException.Kind.of(e), target, "cannot create the store", e);
        } catch (RuntimeException | Error e) {
            background.abandon();
            abort();
            throw e;
        }
    }

    /** The commit's vocabulary: rows kept, the ordered records and their bytes, the index over them. */
    private record VocabularyBuild(long kept, long wordBytes, boolean rowsMoved, MemorySegment words,
                                   VocabularyIndex index) {
    }

    /**
     * Builds the vocabulary over rows [0, rows) in row order: each row's record is copied from where its thread put
     * it into {@link #ORDERED_WORDS_FILE}, one after another in row order (so the same rows give the same bytes
     * whatever the threads did), and indexed there. A word seen before is a duplicate: the listener hears of it (and
     * may throw to abort), then the later row is dropped, its vector (and norm) first copied over the earlier one's
     * for {@code KEEP_LAST}. Kept rows move down over dropped ones.
     */
    private VocabularyBuild buildVocabulary(long rows, OnDuplicate onDuplicate,
                                            DuplicateListener listener) throws IOException {
        long putBytes = wordCursor.get();
        Path indexFile = temp.resolve(VocabularyIndex.INDEX_FILE);
        long slots = VocabularyIndex.slotsFor(rows);
        MemorySegment indexSegment = MappedFile.createMapped(arena, indexFile, VocabularyIndex.fileBytes(slots));
        reserve(VocabularyIndex.INDEX_FILE, 0, indexSegment.byteSize());
        VocabularyIndex index = VocabularyIndex.initialize(indexSegment, slots, 1, indexFile);
        MemorySegment ordered = MappedFile.createMapped(arena, temp.resolve(ORDERED_WORDS_FILE), putBytes);
        reserve(ORDERED_WORDS_FILE, 0, putBytes);
        VocabularyOrder order = new VocabularyOrder(index, words, offsets, ordered, putBytes, onDuplicate, listener,
                indexFile, this::moveRow);
        // One call per batch of rows rather than one long loop: the JIT compiles a method after a few hundred calls, a loop
        // only after tens of thousands of iterations in the interpreter, where each mapped access is slow.
        for (long row = 0; row < rows; ) {
            row = order.addBatch(row, Math.min(rows, row + VocabularyOrder.BATCH));
        }
        return new VocabularyBuild(order.kept(), order.cursor(), order.moved(), ordered, index);
    }

    /** Copies row {@code from}'s vector (and its norm, when norms are kept as rows are put) over row {@code to}. */
    private void moveRow(long from, long to) {
        MemorySegment.copy(matrix, NpyHeader.BYTES + from * rowBytes, matrix, NpyHeader.BYTES + to * rowBytes, rowBytes);
        if (norms != null) {
            RowNorms.set(norms, to, RowNorms.get(norms, from));
        }
    }

    /** norms.f32 for rows [0, rows), from the rows as stored, when they were not computed as the rows were put. */
    private MemorySegment writeNorms(long rows) throws IOException {
        MemorySegment out = MappedFile.createMapped(arena, temp.resolve(RowNorms.FILE), RowNorms.fileBytes(rows));
        reserve(RowNorms.FILE, 0, RowNorms.fileBytes(rows));
        final long block = 4096;
        java.util.stream.LongStream.range(0, (rows + block - 1) / block).parallel().forEach(b -> {
            for (long row = b * block, end = Math.min(rows, row + block); row < end; row++) {
                RowNorms.set(out, row, RowNorms.of(matrix, dtype, NpyHeader.BYTES + row * rowBytes, dim));
            }
        });
        return out;
    }

    private void trim(String file, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(temp.resolve(file), StandardOpenOption.WRITE)) {
            ch.truncate(bytes);
            ch.force(true);
        }
    }

    /** Writes a new file of {@code size} zero bytes (blocks reserved) or with {@code content}, and forces it. */
    private void writeNewFile(String file, long size, ByteBuffer content) throws IOException {
        try (FileChannel ch = FileChannel.open(temp.resolve(file), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            if (content != null) {
                while (content.hasRemaining()) {
                    ch.write(content);
                }
            } else if (size > 0) {
                // Blocks, not a sparse file: the writer's first writes go through a mapping, where a full disk faults.
                reserve(file, 0, size);
            }
            ch.force(true);
        }
    }

    /** Deletes everything an uncommitted draft wrote. Idempotent. */
    @Override
    public void close() {
        if (!finished) {
            abort();
        }
    }

    private void abort() {
        finished = true;
        flusher.stop();
        if (arena.scope().isAlive()) {
            arena.close();
        }
        try {
            TempSibling.deleteTree(temp);
        } catch (IOException ignored) {
            // Best effort: a leftover temporary directory is hidden and harmless, and the next build sweeps it.
        }
    }
}
