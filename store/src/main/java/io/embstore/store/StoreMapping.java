package io.embstore.store;

import io.embstore.store.io.MappedFile;
import io.embstore.store.io.MappingAdvice;
import io.embstore.store.io.NpyHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The store's files as mapped at one capacity ({@link Mapping}) and what a store object shows of them ({@link View}),
 * and how they are mapped at open and after growth.
 */
final class StoreMapping {
    private StoreMapping() {
    }

    /**
     * The mapped files at one capacity; replaced (never modified) when the store grows. {@code norms} is null while
     * {@code norms.f32} does not exist (or a reader has not mapped it yet).
     */
    record Mapping(long capacity, MemorySegment matrix, MemorySegment seq, MemorySegment offsets,
                           MemorySegment words, VocabularyIndex index, MemorySegment norms) {
        Mapping withNorms(MemorySegment newNorms) {
            return new Mapping(capacity, matrix, seq, offsets, words, index, newNorms);
        }
    }

    /** What readers of this object see: the mapping and how much of it is published. Replaced as a whole. */
    record View(Mapping mapping, long rows, long wordBytes) {
    }

    /**
     * Maps every file for {@code capacity} rows, reusing the parts of {@code previous} that did not change. Sizes are
     * checked before anything is mapped. The matrix and {@code rows.seq} are advised random ({@link #adviseRows}).
     */
    static Mapping mapAll(Arena arena, Path dir, Manifest manifest, long capacity, long wordBytes,
                                  Mapping previous, boolean writable, MappingAdvice advice) {
        long rowBytes = manifest.dtype().rowBytes(manifest.dim());
        MemorySegment matrix;
        MemorySegment seq;
        MemorySegment offsets = null;
        if (previous != null && previous.capacity() == capacity) {
            matrix = previous.matrix();
            seq = previous.seq();
            offsets = previous.offsets();
        } else {
            long matrixBytes = NpyHeader.BYTES + capacity * rowBytes;
            matrix = MappedFile.map(arena, dir.resolve(EmbeddingStore.MATRIX_FILE), matrixBytes, matrixBytes, writable);
            seq = MappedFile.map(arena, dir.resolve(RowSeqlock.FILE), RowSeqlock.fileBytes(capacity), RowSeqlock.fileBytes(capacity), writable);
            adviseRows(advice, dir, matrix, seq);
            if (manifest.vocabulary()) {
                offsets = MappedFile.map(arena, dir.resolve(VocabularyIndex.OFFSETS_FILE), capacity * Long.BYTES, capacity * Long.BYTES, writable);
            }
        }
        MemorySegment words = null;
        VocabularyIndex index = null;
        if (manifest.vocabulary()) {
            if (previous != null && previous.words().byteSize() >= wordBytes) {
                words = previous.words();
            } else {
                Path wordsFile = dir.resolve(VocabularyIndex.WORDS_FILE);
                words = MappedFile.map(arena, wordsFile, wordBytes, MappedFile.size(wordsFile), writable);
            }
            index = previous != null ? previous.index() : mapIndex(arena, dir, writable);
        }
        MemorySegment norms = previous != null && previous.capacity() == capacity ? previous.norms()
                : mapNormsIfPresent(arena, dir, capacity, writable);
        return new Mapping(capacity, matrix, seq, offsets, words, index, norms);
    }

    /**
     * Advises the matrix and {@code rows.seq} mappings random, for every store object, reader or writer: what they
     * serve most is row reads, gathers and training steps, each touching a row's page and its counter's, scattered over
     * the table; read-ahead around those faults reads pages nobody asked for and, in a table larger than memory, evicts
     * rows that are still wanted (issue 16: 2,000 rows/s without the advice, benchmarks/results/larger-than-memory.md).
     * Advice belongs to a mapping, not to an operation, so scans of these same mappings (similarity, verify, export)
     * do not switch it: they ask for their pages ahead with {@code MADV_WILLNEED} ({@link ScanAhead}) instead, which
     * leaves concurrent row reads their single-page faults. The price (Linux 6.3 and later): reads through an advised
     * mapping do not count as recent use for reclaim ({@code vma_has_recency}), so a hot set in a table larger than
     * memory is not kept resident by its use (README, "Tables larger than memory").
     */
    static void adviseRows(MappingAdvice advice, Path dir, MemorySegment matrix, MemorySegment seq) {
        advice.random(matrix, dir.resolve(EmbeddingStore.MATRIX_FILE));
        advice.random(seq, dir.resolve(RowSeqlock.FILE));
    }

    /** Maps {@code norms.f32} for {@code capacity} rows, or returns null when the store has none (it is optional). */
    static MemorySegment mapNormsIfPresent(Arena arena, Path dir, long capacity, boolean writable) {
        Path file = dir.resolve(RowNorms.FILE);
        if (!Files.exists(file)) {
            return null;
        }
        long bytes = RowNorms.fileBytes(capacity);
        return MappedFile.map(arena, file, bytes, bytes, writable);
    }

    static VocabularyIndex mapIndex(Arena arena, Path dir, boolean writable) {
        Path file = dir.resolve(VocabularyIndex.INDEX_FILE);
        long size = MappedFile.size(file);
        return VocabularyIndex.attach(MappedFile.map(arena, file, VocabularyIndex.HEADER_BYTES, size, writable), file);
    }

    /**
     * Maps the files of a store being opened, after checking the manifest against the control block's {@code rows},
     * and checks the matrix header against both: what open does before it trusts anything.
     */
    static Mapping mapChecked(Arena arena, Path dir, Manifest manifest, long rows, long capacity, long wordBytes,
                              boolean writable, MappingAdvice advice) {
        if (manifest.rows() > rows) {
            throw new StoreException(StoreException.Kind.CORRUPT, dir.resolve(Manifest.FILE),
                    "manifest says rows=" + manifest.rows() + " but the control block has only " + rows + " live rows");
        }
        if (manifest.paddingIndex() >= rows && manifest.paddingIndex() != -1) {
            throw new StoreException(StoreException.Kind.CORRUPT, dir.resolve(Manifest.FILE),
                    "padding_index " + manifest.paddingIndex() + " is outside the " + rows + " rows");
        }
        Mapping mapping = mapAll(arena, dir, manifest, capacity, wordBytes, null, writable, advice);
        MatrixHeader.Parsed header = MatrixHeader.read(mapping.matrix(), dir.resolve(EmbeddingStore.MATRIX_FILE));
        if (!header.describes(manifest.dtype(), manifest.dim())) {
            throw new StoreException(StoreException.Kind.CORRUPT, dir.resolve(EmbeddingStore.MATRIX_FILE),
                    ".npy header says " + header.shape() + " but the manifest says " + manifest.dtype().label() + " x " + manifest.dim());
        }
        if (header.rows() > capacity) {
            throw new StoreException(StoreException.Kind.CORRUPT, dir.resolve(EmbeddingStore.MATRIX_FILE),
                    ".npy header says " + header.rows() + " rows but the files hold " + capacity);
        }
        return mapping;
    }
}
