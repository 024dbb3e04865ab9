package io.embstore.store;

import io.embstore.store.StoreMapping.Mapping;
import io.embstore.store.StoreMapping.View;
import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.FileSpace;
import io.embstore.store.io.MappedFile;
import io.embstore.store.io.NpyHeader;
import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.stream.LongStream;

/**
 * A store open for writing: everything a reader does, plus {@link #write}, {@link #append}, {@link #flush},
 * {@link #force} and the repair of damaged rows. One process at a time holds a store for writing (an OS lock on
 * {@code writer.lock}); get one from {@link EmbeddingStore#openForWriting} or {@link StoreBuilder#create()}.
 *
 * <p>This class owns the publish protocol of {@link ControlBlock}: a row is written under its seqlock
 * ({@link RowSeqlock}: odd, bytes, even); an append writes the row, its word record, offset and index entry, then
 * releases {@code word_bytes} and last {@code live_rows}, so that a reader that acquires {@code live_rows} sees all
 * that it covers; growth extends and maps the files before it releases {@code capacity}; a rebuilt index is renamed
 * into place before {@code index_epoch} moves. {@code generation} is bumped after each of these. Disk blocks are
 * reserved ({@link FileSpace}) before any mapped write that needs them, so a full disk is an error, not a fault.
 */
public final class WritableStore extends EmbeddingStore {
    /** How far ahead of an append its rows' disk blocks are reserved, in bytes of matrix rows. */
    private static final long RESERVE_STEP = 16L << 20;

    private final WriterLock lock;
    /** Rows written to the manifest and the .npy header at the last flush. */
    private long flushedRows;
    /**
     * Rows whose disk blocks are reserved in every file indexed by row, and bytes of word records likewise: appends
     * reserve ahead of their writes (see {@link #reserveForAppend}). Guarded by appendLock.
     */
    private long reservedRows;
    private long reservedWordBytes;
    /** Whether checksums.txt may still describe the files: the writer's first change deletes it. */
    private volatile boolean checksumsCurrent = true;

    WritableStore(Path dir, Manifest manifest, java.lang.foreign.Arena arena, io.embstore.store.io.MappingAdvice advice,
                  ControlBlock control, WriterLock lock, View view, DamagedRows damaged) {
        super(dir, manifest, arena, advice, control, view, damaged);
        this.lock = lock;
        this.flushedRows = manifest.rows();
        this.reservedRows = view.rows();
        this.reservedWordBytes = view.wordBytes();
    }

    /**
     * Takes over the store from whoever wrote it last, before the first write: catches up the index epoch, records
     * the rows a dead writer left half-written as damaged, distrusts norms a writer that did not close left, and names
     * this process the writer. Returns the damaged rows.
     */
    static DamagedRows takeOver(Path dir, ControlBlock control, Mapping mapping, long rows, long capacity) {
        // A writer that died between renaming a rebuilt index and bumping index_epoch: catch the epoch up.
        if (mapping.index() != null && mapping.index().epoch() != control.indexEpoch()) {
            control.indexEpoch(mapping.index().epoch());
        }
        // A row a writer died in the middle of has no known content: it stays odd and is recorded as
        // damaged until it is rewritten. Past the live rows, an append that never published: nobody can see it.
        long[] odd = RowSeqlock.oddRows(mapping.seq(), 0, rows);
        RowSeqlock.resetOdd(mapping.seq(), rows, capacity);
        DamagedRows damaged = DamagedRows.recordAtOpen(dir, control, odd);
        // A writer that did not close may have left rows and norms apart on disk; they are recomputed on demand.
        if (control.writerPid() != 0 || mapping.norms() == null) {
            control.normsRows(0);
        }
        control.writerPid(ProcessHandle.current().pid());
        return damaged;
    }

    /** Writes {@code src[0, dim)} into row {@code row}; readers never see the row half written. */
    public void write(long row, float[] src) {
        write(row, src, 0);
    }

    /**
     * Writes {@code src[offset, offset + dim)} into row {@code row}, quantizing it in a q8/q4 store. Rewriting a damaged
     * row makes it healthy again (durably: the row reaches the disk before it leaves {@code damaged.rows}).
     *
     * @throws IllegalArgumentException for the padding row, which is never written; in a q8/q4 store, for values the
     *                                  row cannot hold (NaN, infinities, a range too wide for its scale), before
     *                                  anything is written
     * @throws StoreException           if writing the row's bytes fails part way (an I/O fault in the mapped file):
     *                                  the row is then damaged, and reads of it fail until it is rewritten
     */
    public void write(long row, float[] src, int offset) {
        View v = view;
        ensureOpen();
        Objects.checkIndex(row, v.rows());
        Objects.checkFromIndexSize(offset, dim, src.length);
        if (row == paddingIndex) {
            throw new IllegalArgumentException("row " + row + " is the padding row: it stays zero and is never written");
        }
        if (dtype.quantized()) {
            // Refused before the seqlock write begins: a value the row cannot hold must not leave it damaged.
            QuantizedRows.check(dtype, src, offset, dim, row, null);
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
        return new StoreException(StoreException.Kind.of(cause), dir,
                "writing row " + row + " failed, so the row is damaged: its content is"
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
        ensureOpen();
        if (!manifest.vocabulary()) {
            throw new IllegalStateException(dir + " has no vocabulary: use appendRow(vector)");
        }
        return appendInternal(VocabularyIndex.encode(word), word, vector);
    }

    /** Appends a row to a store without a vocabulary and returns its row number. */
    public long appendRow(float[] vector) {
        ensureOpen();
        if (manifest.vocabulary()) {
            throw new IllegalStateException(dir + " has a vocabulary: use append(word, vector)");
        }
        return appendInternal(null, null, vector);
    }

    private long appendInternal(byte[] utf8, String word, float[] vector) {
        if (vector.length != dim) {
            throw new IllegalArgumentException("vector has " + vector.length + " values, the store's dim is " + dim);
        }
        if (dtype.quantized()) {
            QuantizedRows.check(dtype, vector, 0, dim, -1, word);
        }
        if (checksumsCurrent) {
            invalidateChecksums();
        }
        synchronized (appendLock) {
            View v = view;
            long row = v.rows();
            if (row >= MAX_ROWS) {
                throw new StoreException(StoreException.Kind.NO_SPACE, dir, "the store is full: " + MAX_ROWS + " rows");
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
                throw new StoreException(StoreException.Kind.of(t), dir,
                        "appending row " + row + " failed; nothing was appended", t);
            }
            RowSeqlock.endWrite(m.seq(), row, next);
            long wordBytes = v.wordBytes();
            if (utf8 != null) {
                long at = wordBytes;
                wordBytes = at + VocabularyIndex.recordBytes(utf8);
                m = ensureWordBytes(m, wordBytes);
                VocabularyIndex.writeRecord(m.words(), at, row, utf8);
                m.offsets().set(VocabularyIndex.LONG, row * Long.BYTES, at);
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
        MemorySegment matrix = MappedFile.mapGrowing(arena, dir.resolve(MATRIX_FILE), NpyHeader.BYTES + capacity * rowBytes);
        MemorySegment seq = MappedFile.mapGrowing(arena, dir.resolve(RowSeqlock.FILE), RowSeqlock.fileBytes(capacity));
        StoreMapping.adviseRows(advice, dir, matrix, seq);
        MemorySegment offsets = manifest.vocabulary()
                ? MappedFile.mapGrowing(arena, dir.resolve(VocabularyIndex.OFFSETS_FILE), capacity * Long.BYTES) : null;
        MemorySegment norms = m.norms() != null ? MappedFile.mapGrowing(arena, dir.resolve(RowNorms.FILE), RowNorms.fileBytes(capacity)) : null;
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
        MemorySegment words = MappedFile.mapGrowing(arena, dir.resolve(VocabularyIndex.WORDS_FILE), size);
        return new Mapping(m.capacity(), m.matrix(), m.seq(), m.offsets(), words, m.index(), m.norms());
    }

    /** Builds a larger index for rows [0, rows) in a temporary file, renames it over vocab.index, bumps index_epoch. */
    private Mapping rebuildIndex(Mapping m, long rows, long slots) {
        Path file = dir.resolve(VocabularyIndex.INDEX_FILE);
        Path tmp = null;
        try {
            TempSibling.sweepStale(file);
            tmp = TempSibling.createFile(file);
            // Blocks before the mapping (a full disk faults inside a mapped write).
            FileSpace.reserve(tmp, 0, VocabularyIndex.fileBytes(slots));
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, VocabularyIndex.fileBytes(slots), arena);
            }
            VocabularyIndex index = VocabularyIndex.initialize(seg, slots, m.index().epoch() + 1, file);
            for (long r = 0; r < rows; r++) {
                index.insert(m.words(), m.offsets().get(VocabularyIndex.LONG, r * Long.BYTES));
            }
            seg.force();
            DurableFiles.moveIntoPlace(tmp, file);
            tmp = null;
            control.indexEpoch(index.epoch());
            return new Mapping(m.capacity(), m.matrix(), m.seq(), m.offsets(), m.words(), index, m.norms());
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.of(e), file, "cannot rebuild the vocabulary index", e);
        } finally {
            if (tmp != null) {
                // A failed rebuild leaves nothing behind (the old index stays in use); unlinking a mapped file is safe.
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // Swept by the next writer once this process is gone.
                }
            }
        }
    }

    /** Bumps the generation so readers polling {@link #generation()} know something changed. No disk I/O. */
    public long publish() {
        ensureOpen();
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
        ensureOpen();
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
        ensureOpen();
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
                MatrixHeader.write(m.matrix(), dtype, v.rows(), dim);
                m.matrix().asSlice(0, NpyHeader.BYTES).force();
                try {
                    DurableFiles.replace(dir.resolve(Manifest.FILE), manifest.withRows(v.rows()).render());
                } catch (IOException e) {
                    throw new StoreException(StoreException.Kind.of(e), dir.resolve(Manifest.FILE),
                            "cannot rewrite the manifest", e);
                }
                flushedRows = v.rows();
            }
            control.bumpGeneration();
        }
    }

    /**
     * Flushes, then records the size and CRC-32C of every data file in {@code checksums.txt} for {@link #verify()}.
     * The writer's next change deletes the record again.
     */
    public void recordChecksums() {
        ensureOpen();
        synchronized (appendLock) {
            flushFiles();
            try {
                StoreChecksums.record(dir);
            } catch (IOException e) {
                throw new StoreException(StoreException.Kind.of(e), dir.resolve(StoreChecksums.FILE),
                        "cannot record checksums", e);
            }
            checksumsCurrent = true;
        }
    }

    /**
     * Computes the norm of every row into {@code norms.f32} (creating it), so that similarity queries need not
     * compute them. The writer does this by itself on its first query; call it after a bulk load to pay the pass
     * ahead. Afterwards {@link #write} and {@link #append} keep the norms current. Rows may be written meanwhile.
     * A damaged row keeps whatever norm it had (queries skip it) until it is rewritten.
     * (Readers without norms compute them during the scan.)
     */
    public void computeNorms() {
        ensureOpen();
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
                    throw new StoreException(StoreException.Kind.of(e), file,
                            "cannot create and map " + RowNorms.fileBytes(m.capacity()) + " bytes", e);
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

    static void putRow(MemorySegment matrix, Dtype dtype, long at, float[] src, int srcOffset, int dim) {
        if (dtype.quantized()) {
            QuantizedRows.quantize(dtype, src, srcOffset, dim, matrix, at);
        } else if (dtype == Dtype.F32) {
            MemorySegment.copy(src, srcOffset, matrix, RowReader.F32_LE, at, dim);
        } else {
            for (int i = 0; i < dim; i++) {
                matrix.set(RowReader.F16_LE, at + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
            }
        }
    }

    /** Brings {@code norms.f32} up to date, creating it on the first query. */
    @Override
    void prepareNorms() {
        if (view.mapping().norms() == null || control.normsRows() < view.rows()) {
            computeNorms();
        }
    }

    /** The writer sees its own writes at once: nothing to pick up. Returns false. */
    @Override
    public boolean refresh() {
        ensureOpen();
        return false;
    }

    /** Flushes, releases the writer lock and unmaps every file. Idempotent. */
    @Override
    public void close() {
        if (!markClosed()) {
            return;
        }
        try {
            flushFiles();
            control.writerPid(0);
        } finally {
            unmap();
            try {
                lock.close();
            } catch (IOException e) {
                throw new StoreException(StoreException.Kind.IO, dir.resolve(WriterLock.FILE),
                        "cannot release the writer lock", e);
            }
        }
    }
}
