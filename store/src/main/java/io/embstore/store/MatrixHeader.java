package io.embstore.store;

import io.embstore.store.io.NpyHeader;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The {@link NpyHeader} of {@code matrix.npy}: {@code rows x dim} of a store {@link Dtype}, C order, two dimensions.
 */
final class MatrixHeader {
    private MatrixHeader() {
    }

    /** Writes the header for {@code rows x dim} of {@code dtype}. */
    static void write(MemorySegment seg, Dtype dtype, long rows, int dim) {
        NpyHeader.write(seg, dtype.npyDescr(), rows, dim);
    }

    /** What the header says, after it was checked to be one a store writes. */
    record Parsed(Dtype dtype, long rows, int dim) {
    }

    /** Parses and checks the header; a {@link StoreException.Kind#CORRUPT} error names what was expected. */
    static Parsed read(MemorySegment seg, Path file) {
        NpyHeader.Parsed h = NpyHeader.read(seg, file);
        if (h.cols() == 0) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "unreadable .npy header dictionary: " + h.dictionary().strip());
        }
        Dtype dtype = Dtype.fromNpyDescr(h.descr());
        if (dtype == null) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy dtype '" + h.descr() + "' is not supported, expected '<f4' or '<f2'");
        }
        if (h.fortranOrder()) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy matrix is in Fortran order, expected C order");
        }
        if (h.cols() < 1 || h.cols() > EmbeddingStore.MAX_DIM) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy dim " + h.cols() + " is outside [1, " + EmbeddingStore.MAX_DIM + "]");
        }
        return new Parsed(dtype, h.rows(), (int) h.cols());
    }
}
