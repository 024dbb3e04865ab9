package io.embstore.index;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The checks of {@link AnnIndex#open}: that {@code ann.index} is whole (magic, version, header CRC, sizes, body CRC)
 * and that it belongs to this store (dim, dtype, padding row, row count, and the content of the sampled rows whose
 * version did not move since the build). Each failure is a {@link StoreException} of kind CORRUPT naming the file.
 */
final class AnnIndexCheck {
    /** A bound on adjacency slots per node, so that a crafted degree cannot make a view allocate gigabytes. */
    private static final int MAX_DEGREE = 4096;

    private AnnIndexCheck() {
    }

    static void check(EmbeddingStore store, Path file, MemorySegment s) {
        long size = s.byteSize();
        long magic = s.get(AnnFile.LONG, AnnFile.MAGIC_AT);
        if (magic != AnnFile.MAGIC) {
            throw AnnFile.corrupt(file, "not an embstore index (bad magic 0x" + Long.toHexString(magic) + ")");
        }
        int version = s.get(AnnFile.INT, AnnFile.VERSION_AT);
        if (version != AnnFile.VERSION) {
            throw AnnFile.corrupt(file, "index format version " + version + ", this embstore reads version "
                    + AnnFile.VERSION);
        }
        int headerCrc = AnnFile.crc(s, 0, AnnFile.HEADER_CRC_AT);
        if (headerCrc != s.get(AnnFile.INT, AnnFile.HEADER_CRC_AT)) {
            throw AnnFile.corrupt(file, "header checksum mismatch (the header is damaged)");
        }
        long fileBytes = s.get(AnnFile.LONG, AnnFile.FILE_BYTES_AT);
        if (size < fileBytes) {
            throw AnnFile.corrupt(file, "truncated: " + size + " bytes, the header says " + fileBytes);
        }
        if (size > fileBytes) {
            throw AnnFile.corrupt(file, size + " bytes, the header says " + fileBytes + ": trailing bytes");
        }
        long rows = s.get(AnnFile.LONG, AnnFile.ROWS_AT);
        int degree = s.get(AnnFile.INT, AnnFile.DEGREE_AT);
        int samples = s.get(AnnFile.INT, AnnFile.SAMPLES_AT);
        int entry = s.get(AnnFile.INT, AnnFile.ENTRY_AT);
        if (s.get(AnnFile.INT, AnnFile.HEADER_BYTES_AT) != AnnFile.HEADER_BYTES || rows < 0 || rows > Integer.MAX_VALUE
                || degree < 1 || degree > MAX_DEGREE || samples < 0 || samples > AnnFile.MAX_SAMPLES
                || (rows == 0 ? entry != -1 : entry < 0 || entry >= rows)
                || s.get(AnnFile.LONG, AnnFile.VERSIONS_OFFSET_AT) != AnnFile.versionsOffset(samples)
                || s.get(AnnFile.LONG, AnnFile.ADJACENCY_OFFSET_AT) != AnnFile.adjacencyOffset(samples, rows)
                || fileBytes != AnnFile.fileBytes(samples, rows, degree)) {
            throw AnnFile.corrupt(file, "inconsistent header (rows " + rows + ", degree " + degree + ", samples "
                    + samples + ", entry " + entry + ", " + fileBytes + " bytes)");
        }
        if (AnnFile.crc(s, AnnFile.HEADER_BYTES, fileBytes) != s.get(AnnFile.INT, AnnFile.BODY_CRC_AT)) {
            throw AnnFile.corrupt(file, "checksum mismatch (the row versions or the graph are damaged)");
        }
        int dim = s.get(AnnFile.INT, AnnFile.DIM_AT);
        String dtype = AnnFile.dtypeLabel(s.get(AnnFile.INT, AnnFile.DTYPE_AT));
        long padding = s.get(AnnFile.LONG, AnnFile.PADDING_AT);
        if (dim != store.dim() || !dtype.equals(store.dtype().label()) || padding != store.paddingIndex()) {
            throw foreign(file, "built for a " + dim + "-dim " + dtype + " table" + (padding >= 0 ? " with padding row "
                    + padding : "") + ", the store is " + store.dim() + "-dim " + store.dtype().label()
                    + (store.paddingIndex() >= 0 ? " with padding row " + store.paddingIndex() : ""));
        }
        if (rows > store.rows()) {
            store.refresh(); // a reader that has not seen the appends the index covers
            if (rows > store.rows()) {
                throw foreign(file, "covers " + rows + " rows, the store has " + store.rows());
            }
        }
        checkSamples(store, file, s, samples);
    }

    private static void checkSamples(EmbeddingStore store, Path file, MemorySegment s, int samples) {
        MemorySegment versions = store.rowVersions();
        float[] row = new float[store.dim()];
        for (int i = 0; i < samples; i++) {
            long at = AnnFile.HEADER_BYTES + (long) i * AnnFile.SAMPLE_BYTES;
            long r = s.get(AnnFile.LONG, at);
            int version = s.get(AnnFile.INT, at + 8);
            int crc = s.get(AnnFile.INT, at + 12);
            if (r < 0 || r >= store.rows()) {
                throw AnnFile.corrupt(file, "sample row " + r + " is outside the store's " + store.rows() + " rows");
            }
            if (versions.get(AnnFile.INT, r * Integer.BYTES) != version) {
                continue; // written since the build: its content says nothing
            }
            try {
                store.read(r, row);
            } catch (StoreException damaged) {
                continue;
            }
            if (versions.get(AnnFile.INT, r * Integer.BYTES) == version && AnnIndexWriter.rowCrc(row) != crc) {
                throw foreign(file, "row " + r + " is not the row it was built from, though it was not written since");
            }
        }
    }

    private static StoreException foreign(Path file, String what) {
        return new StoreException(StoreException.Kind.CORRUPT, file, "the index belongs to another store: " + what
                + "; rebuild it for this one (embstore index STORE)");
    }
}
