package io.embstore.store;

import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import io.embstore.store.io.MappedFile;
import io.embstore.store.io.NpyHeader;
import io.embstore.store.io.FileSpace;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A store under construction in a hidden temporary sibling of its final path. Rows and words are put straight into
 * mapped files from any number of threads; {@link #commit} deduplicates words, compacts rows, builds the hash index,
 * trims every file to its exact size, forces it all to disk and renames the directory into place. A draft closed
 * without a commit deletes itself, so a failed creation or conversion leaves nothing behind.
 */
final class StoreDraft implements Draft {
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Drafts that can hold this many bytes of rows force the matrix in the background while rows are put. */
    private static final long FLUSH_STEP = 64L << 20;
    /** How often the flusher forces the matrix while rows are put. */
    private static final long FLUSH_MILLIS = 100;
    /** The records in row order, written by the commit; renamed over {@code vocab.words} once unmapped. */
    private static final String ORDERED_WORDS_FILE = VocabularyIndex.WORDS_FILE + ".ordered";
    /**
     * How far ahead of the rows put their disk blocks are reserved: few enough calls for a bulk load, little enough
     * reserved beyond the last row (the commit trims it).
     */
    private static final long RESERVE_STEP = 64L << 20;
    /** {@code -Dembstore.phases=true}: the commit's phases on standard error, for measuring a conversion. */
    private static final boolean PHASES = Boolean.getBoolean("embstore.phases");

    private final Path target;
    private final Path temp;
    private final int dim;
    private final Dtype dtype;
    private final long rowBytes;
    private final boolean vocabulary;
    private final long paddingIndex;
    private final Arena arena = Arena.ofShared();
    private final AtomicLong wordCursor = new AtomicLong();
    private MemorySegment matrix;
    private MemorySegment offsets;
    private MemorySegment words;
    private long capacity;
    private boolean finished;
    private boolean computeNorms;
    /**
     * norms.f32 while every row's norm is computed as the row is put (norms were asked for before the first row), so
     * that the commit need not read the matrix back; null otherwise.
     */
    private MemorySegment norms;
    /** Whether a row was put: norms asked for later are computed from the matrix at commit. Only goes false to true. */
    private boolean rowsPut;
    private final Object flushLock = new Object();
    /** The matrix mapping as the flusher may force it: set on every growth, read by the flusher thread. */
    private volatile MemorySegment flushable;
    private Thread flusher;
    private boolean flusherStopped;
    /** Rows whose disk blocks are reserved in every file indexed by row (see {@link #reserveRows}). */
    private volatile long reservedRows;
    /** Bytes of {@code vocab.words} whose disk blocks are reserved. */
    private volatile long reservedWordBytes;

    StoreDraft(Path target, int dim, Dtype dtype, boolean vocabulary, long paddingIndex, long capacity) {
        this.target = target.toAbsolutePath();
        this.dim = dim;
        this.dtype = dtype;
        this.rowBytes = (long) dim * dtype.bytes();
        this.vocabulary = vocabulary;
        this.paddingIndex = paddingIndex;
        if (Files.exists(this.target)) {
            throw new StoreException(StoreException.Kind.IO, this.target, "already exists: choose a new path or delete it first");
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
        flushable = matrix;
        if (rows * rowBytes >= FLUSH_STEP) {
            startFlusher();
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
        if (row >= reservedRows) {
            reserveRows(row + 1);
        }
        WritableStore.putRow(matrix, dtype, NpyHeader.BYTES + row * rowBytes, src, offset, dim);
        if (!rowsPut) {
            rowsPut = true;
        }
        MemorySegment n = norms;
        if (n != null) {
            RowNorms.set(n, row, RowNorms.of(src, offset, dim, dtype));
        }
    }

    /**
     * Starts, once the draft can hold {@link #FLUSH_STEP} bytes of rows, the thread that forces the matrix to disk
     * every {@link #FLUSH_MILLIS} while rows are being put. A bulk load writes far more than the disk can take in at
     * commit time; this way the disk works during the load and the commit's own force finds little left. Small
     * drafts never start it. It goes by the clock rather than by the rows put: counting them would put a shared
     * counter and a branch taken once in a while into {@link #putRow}, the hottest method of a load, and the
     * branch's first use would send it back to the interpreter. A force with nothing new to write costs little.
     */
    private void startFlusher() {
        synchronized (flushLock) {
            if (flusher != null || flusherStopped) {
                return;
            }
            flusher = new Thread(this::flushWhilePutting, "embstore-draft-flush");
            flusher.setDaemon(true);
            flusher.start();
        }
    }

    private void flushWhilePutting() {
        while (true) {
            synchronized (flushLock) {
                if (!flusherStopped) {
                    try {
                        flushLock.wait(FLUSH_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (flusherStopped) {
                    return;
                }
            }
            try {
                flushable.force();
            } catch (RuntimeException e) {
                // The commit forces everything again and reports a failure there, with the store's path.
                return;
            }
        }
    }

    /** Tells the flusher to force no more, without waiting for a force it is in; returns the flusher or null. */
    private Thread askFlusherToStop() {
        synchronized (flushLock) {
            flusherStopped = true;
            flushLock.notifyAll();
            return flusher;
        }
    }

    /** Stops the flusher and waits for its current force: the mappings may be closed after this. */
    private void stopFlusher() {
        Thread t = askFlusherToStop();
        if (t != null) {
            boolean interrupted = false;
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
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
        offsets.set(LONG_LE, row * Long.BYTES, at);
    }

    @Override
    public void computeNormsOnCommit(boolean compute) {
        checkOpen();
        this.computeNorms = compute;
        if (compute && norms == null && !rowsPut) {
            try {
                norms = MappedFile.createMapped(arena, temp.resolve(RowNorms.FILE), RowNorms.fileBytes(capacity));
            } catch (IOException e) {
                throw new StoreException(StoreException.Kind.of(e), temp.resolve(RowNorms.FILE), "cannot create the file", e);
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
        // Rows never put (zeros) are written too: the padding row, the .npy header's row count, moved rows.
        reserveRows(rows);
        // A force the flusher is in goes on beside the commit's own: it is waited for before anything is unmapped.
        askFlusherToStop();
        phase("commit");
        // The disk and the cores work at the same time: the rows go to disk while the words are indexed and the
        // rows checksummed. Each force is final only when it starts after the last change to its file, so the
        // ones that may start too early (the matrix, changed by duplicates) are repeated at the end; a repeat
        // writes only the pages changed since.
        Background background = new Background();
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
                phase("vocabulary");
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
            phase("norms");
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
            phase("checksums");
            background.force(matrix);
            Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, dtype, dim, kept, vocabulary, paddingIndex);
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
            stopFlusher();
            phase("forced");
            finished = true;
            arena.close();
            // Unmapped now, so trimming the files to their exact sizes cannot fault anyone.
            background = new Background();
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
                throw new StoreException(StoreException.Kind.IO, target, "already exists: another process created it at the same time");
            } catch (AtomicMoveNotSupportedException e) {
                throw new StoreException(StoreException.Kind.IO, target, "the file system cannot rename atomically", e);
            }
            phase("renamed");
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
        VocabularyOrder order = new VocabularyOrder(index, ordered, putBytes, onDuplicate, listener, indexFile);
        // One call per batch of rows rather than one long loop: the JIT compiles a method after a few hundred calls, a loop
        // only after tens of thousands of iterations in the interpreter, where each mapped access is slow.
        for (long row = 0; row < rows; ) {
            row = order.addBatch(row, Math.min(rows, row + VocabularyOrder.BATCH));
        }
        return new VocabularyBuild(order.kept, order.cursor, order.moved, ordered, index);
    }

    /** The state of {@link #buildVocabulary}'s walk over the rows. */
    private final class VocabularyOrder {
        /**
         * Rows hashed, and their home slots loaded, before any of them is inserted: their cache misses in the index
         * (random by design) overlap instead of each insert waiting for its own. They are still inserted in row order.
         */
        static final int BATCH = 16;
        private final long[] hashes = new long[BATCH];
        /** The slots loaded ahead, folded together so that the loads are not dead code. */
        long touched;
        private final VocabularyIndex index;
        private final MemorySegment ordered;
        private final MemorySegment put = words;
        private final long putBytes;
        private final OnDuplicate onDuplicate;
        private final DuplicateListener listener;
        private final Path indexFile;
        long cursor;
        long kept;
        boolean moved;

        VocabularyOrder(VocabularyIndex index, MemorySegment ordered, long putBytes, OnDuplicate onDuplicate,
                        DuplicateListener listener, Path indexFile) {
            this.index = index;
            this.ordered = ordered;
            this.putBytes = putBytes;
            this.onDuplicate = onDuplicate;
            this.listener = listener;
            this.indexFile = indexFile;
        }

        /** {@link #addRow} for rows [from, to), at most {@link #BATCH} of them; returns the next row to add. */
        long addBatch(long from, long to) {
            for (long row = from; row < to; row++) {
                long record = offsets.get(LONG_LE, row * Long.BYTES);
                if (record < 0 || record + VocabularyIndex.RECORD_HEADER_BYTES > putBytes
                        || (put.get(VocabularyIndex.INT_U, record) & 0xffffffffL) != row) {
                    if (row == from) {
                        throw new IllegalStateException("row " + row + " has no word: putWord was not called for it");
                    }
                    // The rows before it first, as one at a time would: one of them may be a duplicate to report.
                    to = row;
                    break;
                }
                long h = VocabularyIndex.hash(put, record + VocabularyIndex.RECORD_HEADER_BYTES,
                        put.get(VocabularyIndex.INT_U, record + 4));
                hashes[(int) (row - from)] = h;
                touched += index.touchSlot(h);
            }
            for (long row = from; row < to; row++) {
                addRow(row, hashes[(int) (row - from)]);
            }
            return to;
        }

        /** Copies row {@code row}'s record to the end of the ordered records and indexes it, or drops the row. */
        void addRow(long row, long hash) {
            long record = offsets.get(LONG_LE, row * Long.BYTES);
            long bytes = VocabularyIndex.RECORD_HEADER_BYTES + (put.get(VocabularyIndex.INT_U, record + 4) & 0xffffffffL);
            MemorySegment.copy(put, record, ordered, cursor, bytes);
            ordered.set(VocabularyIndex.INT_U, cursor, (int) kept);
            long first = index.insertIfAbsent(ordered, cursor, hash);
            if (first >= 0) {
                if (listener != null) {
                    listener.duplicate(VocabularyIndex.word(put, record, putBytes, row, indexFile), first, row);
                }
                if (onDuplicate == OnDuplicate.KEEP_LAST) {
                    moveRow(row, first);
                    moved = true;
                }
                // The copied record is not kept: the next one overwrites it.
                return;
            }
            if (kept != row) {
                moveRow(row, kept);
                moved = true;
            }
            offsets.set(LONG_LE, kept * Long.BYTES, cursor);
            cursor += bytes;
            kept++;
        }
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

    /** Work of the commit that runs beside it: forces (waiting on the disk) and computations. */
    private static final class Background {
        /** Runs a piece of file work that may throw {@link IOException}. */
        interface IoWork {
            void run() throws IOException;
        }

        private final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "embstore-commit");
            t.setDaemon(true);
            return t;
        });
        private final java.util.List<java.util.concurrent.Future<?>> pending = new java.util.ArrayList<>();

        void force(MemorySegment seg) {
            pending.add(pool.submit(seg::force));
        }

        void run(IoWork work) {
            pending.add(pool.submit(() -> {
                work.run();
                return null;
            }));
        }

        <T> java.util.concurrent.Future<T> compute(java.util.concurrent.Callable<T> work) {
            java.util.concurrent.Future<T> f = pool.submit(work);
            pending.add(f);
            return f;
        }

        <T> T join(java.util.concurrent.Future<T> f) throws IOException {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        return f.get();
                    } catch (InterruptedException e) {
                        // The mappings must outlive every task, so the wait goes on; the interrupt is kept.
                        interrupted = true;
                    }
                }
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof IOException io) {
                    throw io;
                }
                if (cause instanceof RuntimeException r) {
                    throw r;
                }
                if (cause instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(cause);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** Waits for every task; the first failure is thrown after all have ended. */
        void finish() throws IOException {
            Throwable first = null;
            for (java.util.concurrent.Future<?> f : pending) {
                try {
                    join(f);
                } catch (IOException | RuntimeException | Error e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            pending.clear();
            pool.shutdown();
            if (first instanceof IOException io) {
                throw io;
            }
            if (first instanceof RuntimeException r) {
                throw r;
            }
            if (first != null) {
                throw (Error) first;
            }
        }

        /** Waits for every task and ignores their failures: the draft is being deleted. */
        void abandon() {
            try {
                finish();
            } catch (IOException | RuntimeException | Error ignored) {
                // The first failure is already on its way to the caller.
            }
        }
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

    /** With {@code -Dembstore.phases=true}, prints the wall clock (ms since the epoch) at which a phase ended. */
    static void phase(String name) {
        if (PHASES) {
            java.time.Instant now = java.time.Instant.now();
            System.err.printf("embstore phase %-12s %d.%03d%n", name, now.toEpochMilli(), now.getNano() / 1000 % 1000);
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
        stopFlusher();
        if (arena.scope().isAlive()) {
            arena.close();
        }
        deleteRecursively(temp);
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // Best effort: a leftover temporary directory is hidden and harmless.
                }
            });
        } catch (IOException ignored) {
            // Best effort, as above.
        }
    }
}
