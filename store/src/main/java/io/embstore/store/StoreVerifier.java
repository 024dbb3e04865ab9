package io.embstore.store;

import io.embstore.store.StoreMapping.Mapping;
import io.embstore.store.StoreMapping.View;
import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a whole store, as Lucene's CheckIndex checks an index: the recorded checksums of every data file (if still
 * current), every word record and that each word's lookup finds its own row, that no row was left half-written, each
 * current norm in norms.f32 against its row, and the matrix values. Reads every byte. Behind
 * {@link EmbeddingStore#verify()}.
 */
final class StoreVerifier {
    private final EmbeddingStore store;
    private final Path dir;
    private final int dim;
    private final Dtype dtype;
    private final long rowBytes;

    StoreVerifier(EmbeddingStore store) {
        this.store = store;
        this.dir = store.path();
        this.dim = store.dim();
        this.dtype = store.dtype();
        this.rowBytes = dtype.rowBytes(dim);
    }

    Verification verify() {
        store.ensureOpen();
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
        View v = store.view;
        long rows = v.rows();
        MemorySegment seq = v.mapping().seq();
        float[] row = new float[dim];
        long nonFinite = 0;
        // Norms left by a writer that died are not trusted by anyone (the next writer recomputes them): not checked.
        MemorySegment norms = store.writerAliveOrNone() ? v.mapping().norms() : null;
        long normsRows = norms == null ? 0 : Math.min(rows, store.control.normsRows());
        // The matrix and rows.seq are advised random for row reads (StoreMapping.adviseRows): this pass over every row
        // asks for their pages ahead instead, so a cold store is read at the disk's sequential rate, not a fault a page.
        Mapping m = v.mapping();
        ScanAhead matrixAhead = ScanAhead.always(store.advice, m.matrix(), dir.resolve(EmbeddingStore.MATRIX_FILE),
                NpyHeader.BYTES, NpyHeader.BYTES + rows * rowBytes);
        ScanAhead seqAhead = ScanAhead.always(store.advice, seq, dir.resolve(RowSeqlock.FILE), 0, RowSeqlock.fileBytes(rows));
        for (long r = 0; r < rows; r++) {
            matrixAhead.at(NpyHeader.BYTES + r * rowBytes);
            seqAhead.at(r * Integer.BYTES);
            if ((RowSeqlock.readBegin(seq, r) & 1) != 0) {
                problems.add(store.damaged.contains(r)
                        ? dir.resolve(DamagedRows.FILE) + ": row " + r + " is damaged (a write of it did not complete):"
                                + " rewrite it with write(" + r + ", vector)"
                        : dir.resolve(RowSeqlock.FILE) + ": row " + r + " is marked half-written");
                continue;
            }
            store.read(r, row, 0, ReadMode.RELAXED);
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
            if (store.manifest.vocabulary()) {
                try {
                    String w = store.word(r);
                    long found = store.indexedRowOf(v, w); // bucket rows' placeholder names are indexed too
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
}
