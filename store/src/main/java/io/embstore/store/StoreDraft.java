package io.embstore.store;

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
import java.nio.file.StandardCopyOption;
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
final class StoreDraft implements EmbeddingStore.Draft {
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Bytes of rows put between two background forces of the matrix. */
    private static final long FLUSH_STEP = 64L << 20;

    private final Path target;
    private final Path temp;
    private final int dim;
    private final EmbeddingStore.Dtype dtype;
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
    /** Bytes of rows put since the flusher last forced the matrix; see {@link #putRow}. */
    private final AtomicLong unflushed = new AtomicLong();
    private final Object flushLock = new Object();
    /** The matrix mapping as the flusher may force it: set on every growth, read by the flusher thread. */
    private volatile MemorySegment flushable;
    private Thread flusher;
    private boolean flusherStopped;

    StoreDraft(Path target, int dim, EmbeddingStore.Dtype dtype, boolean vocabulary, long paddingIndex, long capacity) {
        this.target = target.toAbsolutePath();
        this.dim = dim;
        this.dtype = dtype;
        this.rowBytes = (long) dim * dtype.bytes();
        this.vocabulary = vocabulary;
        this.paddingIndex = paddingIndex;
        if (Files.exists(this.target)) {
            throw new StoreException(this.target, "already exists: choose a new path or delete it first");
        }
        Path parent = this.target.getParent();
        this.temp = parent.resolve("." + this.target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-"
                + System.nanoTime());
        try {
            Files.createDirectories(parent);
            Files.createDirectory(temp);
            this.matrix = EmbeddingStore.createMapped(arena, temp.resolve(EmbeddingStore.MATRIX_FILE), NpyHeader.BYTES);
            if (vocabulary) {
                this.offsets = EmbeddingStore.createMapped(arena, temp.resolve(VocabularyIndex.OFFSETS_FILE), 0);
                this.words = EmbeddingStore.createMapped(arena, temp.resolve(VocabularyIndex.WORDS_FILE), 0);
            }
        } catch (IOException e) {
            abort();
            throw new StoreException(this.target, "cannot start building the store", e);
        }
        ensureCapacity(capacity);
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
    public EmbeddingStore.Dtype dtype() {
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
        if (vocabulary) {
            offsets = grow(VocabularyIndex.OFFSETS_FILE, rows * Long.BYTES);
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

    private MemorySegment grow(String file, long bytes) {
        try (FileChannel ch = FileChannel.open(temp.resolve(file), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // Mapping past the end extends the file (sparsely); the old mapping stays valid until the draft ends.
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw new StoreException(temp.resolve(file), "cannot extend the file to " + bytes + " bytes", e);
        }
    }

    @Override
    public void putRow(long row, float[] src, int offset) {
        checkRow(row);
        java.util.Objects.checkFromIndexSize(offset, dim, src.length);
        EmbeddingStore.putRow(matrix, dtype, NpyHeader.BYTES + row * rowBytes, src, offset, dim);
        if (unflushed.addAndGet(rowBytes) >= FLUSH_STEP) {
            wakeFlusher();
        }
    }

    /**
     * Starts (once the first {@link #FLUSH_STEP} bytes of rows were put) or wakes the thread that forces the matrix
     * to disk while rows are still being put. A bulk load writes far more than the disk can take in at commit time;
     * this way the disk works during the load and the commit's own force finds little left. Small drafts never
     * start it.
     */
    private void wakeFlusher() {
        synchronized (flushLock) {
            if (flusherStopped) {
                return;
            }
            if (flusher == null) {
                flusher = new Thread(this::flushWhilePutting, "embstore-draft-flush");
                flusher.setDaemon(true);
                flusher.start();
            }
            flushLock.notifyAll();
        }
    }

    private void flushWhilePutting() {
        while (true) {
            synchronized (flushLock) {
                while (!flusherStopped && unflushed.get() < FLUSH_STEP) {
                    try {
                        flushLock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (flusherStopped) {
                    return;
                }
            }
            unflushed.set(0);
            try {
                flushable.force();
            } catch (RuntimeException e) {
                // The commit forces everything again and reports a failure there, with the store's path.
                return;
            }
        }
    }

    /** Stops the flusher and waits for its current force: the mappings may be closed after this. */
    private void stopFlusher() {
        Thread t;
        synchronized (flushLock) {
            flusherStopped = true;
            flushLock.notifyAll();
            t = flusher;
        }
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
        w.set(VocabularyIndex.INT_U, at, (int) row);
        w.set(VocabularyIndex.INT_U, at + 4, (int) len);
        MemorySegment.copy(utf8, 0, w, at + VocabularyIndex.RECORD_HEADER_BYTES, len);
        offsets.set(LONG_LE, row * Long.BYTES, at);
    }

    @Override
    public void computeNormsOnCommit(boolean compute) {
        checkOpen();
        this.computeNorms = compute;
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
    public long commit(long rows, EmbeddingStore.OnDuplicate onDuplicate, EmbeddingStore.DuplicateListener listener) {
        checkOpen();
        if (rows < 0 || rows > capacity) {
            throw new IllegalArgumentException("rows " + rows + " is outside [0, capacity=" + capacity + "]");
        }
        if (paddingIndex >= rows) {
            throw new IllegalArgumentException("padding index " + paddingIndex + " is outside [0, " + rows + ")");
        }
        stopFlusher();
        try {
            long kept = rows;
            long wordBytes = wordCursor.get();
            if (vocabulary) {
                kept = indexAndDeduplicate(rows, wordBytes, onDuplicate, listener);
            }
            if (paddingIndex >= 0) {
                matrix.asSlice(NpyHeader.BYTES + paddingIndex * rowBytes, rowBytes).fill((byte) 0);
            }
            NpyHeader.write(matrix, dtype, kept, dim);
            if (computeNorms) {
                writeNorms(kept);
            }
            matrix.force();
            if (vocabulary) {
                words.force();
                offsets.force();
            }
            finished = true;
            arena.close();
            // Unmapped now, so trimming the files to their exact sizes cannot fault anyone.
            trim(EmbeddingStore.MATRIX_FILE, NpyHeader.BYTES + kept * rowBytes);
            if (vocabulary) {
                trim(VocabularyIndex.OFFSETS_FILE, kept * Long.BYTES);
                trim(VocabularyIndex.WORDS_FILE, wordBytes);
            }
            writeNewFile(RowSeqlock.FILE, RowSeqlock.fileBytes(kept), null);
            writeNewFile(EmbeddingStore.CONTROL_FILE, ControlBlock.BYTES,
                    ControlBlock.fresh(kept, kept, wordBytes, computeNorms ? kept : 0));
            writeNewFile(WriterLock.FILE, 0, null);
            Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, dtype, dim, kept, vocabulary, paddingIndex);
            writeNewFile(Manifest.FILE, -1, ByteBuffer.wrap(manifest.render().getBytes(StandardCharsets.UTF_8)));
            StoreChecksums.record(temp);
            EmbeddingStore.forceDirectory(temp);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                throw new StoreException(target, "already exists: another process created it at the same time");
            } catch (AtomicMoveNotSupportedException e) {
                throw new StoreException(target, "the file system cannot rename atomically", e);
            }
            EmbeddingStore.forceDirectory(target.getParent());
            return kept;
        } catch (IOException e) {
            abort();
            throw new StoreException(target, "cannot create the store", e);
        } catch (RuntimeException | Error e) {
            abort();
            throw e;
        }
    }

    /**
     * Builds vocab.index over rows [0, rows) in row order. A word seen before is a duplicate: the listener hears of it
     * (and may throw to abort), then the later row is dropped, its vector first copied over the earlier one's for
     * {@code KEEP_LAST}. Kept rows move down over dropped ones; the index points at records, so only the records' row
     * fields change. Returns the rows kept.
     */
    private long indexAndDeduplicate(long rows, long wordBytes, EmbeddingStore.OnDuplicate onDuplicate,
                                     EmbeddingStore.DuplicateListener listener) throws IOException {
        Path indexFile = temp.resolve(VocabularyIndex.INDEX_FILE);
        long slots = VocabularyIndex.slotsFor(rows);
        VocabularyIndex index = VocabularyIndex.initialize(
                EmbeddingStore.createMapped(arena, indexFile, VocabularyIndex.fileBytes(slots)), slots, 1, indexFile);
        long kept = 0;
        for (long row = 0; row < rows; row++) {
            long record = offsets.get(LONG_LE, row * Long.BYTES);
            if (record < 0 || record + VocabularyIndex.RECORD_HEADER_BYTES > wordBytes
                    || (words.get(VocabularyIndex.INT_U, record) & 0xffffffffL) != row) {
                throw new IllegalStateException("row " + row + " has no word: putWord was not called for it");
            }
            long first = index.insertIfAbsent(words, record);
            if (first >= 0) {
                if (listener != null) {
                    listener.duplicate(VocabularyIndex.word(words, record, wordBytes, row, indexFile), first, row);
                }
                if (onDuplicate == EmbeddingStore.OnDuplicate.KEEP_LAST) {
                    MemorySegment.copy(matrix, NpyHeader.BYTES + row * rowBytes, matrix, NpyHeader.BYTES + first * rowBytes, rowBytes);
                }
                continue;
            }
            if (kept != row) {
                MemorySegment.copy(matrix, NpyHeader.BYTES + row * rowBytes, matrix, NpyHeader.BYTES + kept * rowBytes, rowBytes);
                offsets.set(LONG_LE, kept * Long.BYTES, record);
            }
            words.set(VocabularyIndex.INT_U, record, (int) kept);
            kept++;
        }
        index.segment().force();
        return kept;
    }

    /** norms.f32 for rows [0, rows), from the rows as stored; the matrix is hot in the cache right after the load. */
    private void writeNorms(long rows) throws IOException {
        MemorySegment norms = EmbeddingStore.createMapped(arena, temp.resolve(RowNorms.FILE), RowNorms.fileBytes(rows));
        final long block = 4096;
        java.util.stream.LongStream.range(0, (rows + block - 1) / block).parallel().forEach(b -> {
            for (long row = b * block, end = Math.min(rows, row + block); row < end; row++) {
                RowNorms.set(norms, row, RowNorms.of(matrix, dtype, NpyHeader.BYTES + row * rowBytes, dim));
            }
        });
        norms.force();
    }

    private void trim(String file, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(temp.resolve(file), StandardOpenOption.WRITE)) {
            ch.truncate(bytes);
            ch.force(true);
        }
    }

    /** Writes a new file of {@code size} zero bytes (sparse) or with {@code content}, and forces it. */
    private void writeNewFile(String file, long size, ByteBuffer content) throws IOException {
        try (FileChannel ch = FileChannel.open(temp.resolve(file), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            if (content != null) {
                while (content.hasRemaining()) {
                    ch.write(content);
                }
            } else if (size > 0) {
                ch.write(ByteBuffer.allocate(1), size - 1);
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
