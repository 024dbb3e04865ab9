package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

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

    /**
     * Records that the store answers absent words from n-gram bucket rows (a fastText {@code .bin} model): the
     * manifest gets the layout. Rows must not move at the commit (no duplicate words), or the buckets would shift:
     * the caller's duplicate listener should refuse them.
     */
    void subwords(SubwordLayout layout);

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
