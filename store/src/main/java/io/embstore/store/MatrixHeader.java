package io.embstore.store;

import io.embstore.store.io.NpyHeader;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@link NpyHeader} of {@code matrix.npy}: {@code rows x dim} of a store {@link Dtype}, C order, two dimensions;
 * for the quantized dtypes one structured record a row instead, shape {@code (rows,)}, whose fields are the row's
 * layout ({@link QuantizedRows}):
 * <pre>
 *   q8: [('scale', '&lt;f4'), ('bias', '&lt;f4'), ('q', '|u1', (dim,))]
 *   q4: [('scale', '&lt;f2'), ('bias', '&lt;f2'), ('q', '|u1', (ceil(dim / 2),))]
 * </pre>
 * A q4 header cannot tell an odd dim from the even one above it: the manifest's dim decides.
 */
final class MatrixHeader {
    private static final Pattern RECORDS = Pattern.compile(
            "\\[\\('scale', '(<f4|<f2)'\\), \\('bias', '\\1'\\), \\('q', '\\|u1', \\((\\d{1,9}),\\)\\)\\]");

    private MatrixHeader() {
    }

    /** Writes the header for {@code rows x dim} of {@code dtype}. */
    static void write(MemorySegment seg, Dtype dtype, long rows, int dim) {
        if (dtype.quantized()) {
            NpyHeader.writeRecords(seg, fields(dtype, dim), rows);
        } else {
            NpyHeader.write(seg, dtype.npyDescr(), rows, dim);
        }
    }

    /** The structured dtype's field list of a quantized matrix, as the header holds it. */
    static String fields(Dtype dtype, int dim) {
        String f = dtype == Dtype.Q8 ? "<f4" : "<f2";
        return "[('scale', '" + f + "'), ('bias', '" + f + "'), ('q', '|u1', ("
                + QuantizedRows.codeBytes(dtype, dim) + ",))]";
    }

    /**
     * What the header says, after it was checked to be one a store writes. {@code dim} is the columns of an f32/f16
     * matrix, the code bytes of a row of a quantized one.
     */
    record Parsed(Dtype dtype, long rows, int dim) {
        /** Whether this header describes a matrix of {@code dtype} rows of {@code dim} elements. */
        boolean describes(Dtype dtype, int dim) {
            return this.dtype == dtype && (dtype.quantized() ? QuantizedRows.codeBytes(dtype, dim) : dim) == this.dim;
        }

        /** For messages: {@code f32 x 300}, {@code q4 with 150 code bytes a row}. */
        String shape() {
            return dtype.quantized() ? dtype.label() + " with " + dim + " code bytes a row" : dtype.label() + " x " + dim;
        }
    }

    /** Parses and checks the header; a {@link StoreException.Kind#CORRUPT} error names what was expected. */
    static Parsed read(MemorySegment seg, Path file) {
        NpyHeader.Parsed h = NpyHeader.read(seg, file);
        if (h.fortranOrder()) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy matrix is in Fortran order, expected C order");
        }
        if (h.descr().startsWith("[")) {
            Matcher m = RECORDS.matcher(h.descr());
            if (!m.matches() || h.cols() != 0) {
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        ".npy structured dtype " + h.descr() + " with shape (" + h.rows() + (h.cols() == 0 ? ",)" : ", " + h.cols() + ")")
                        + " is not a quantized matrix, expected [('scale', '<f4' or '<f2'), ('bias', same),"
                        + " ('q', '|u1', (codes,))] and shape (rows,)");
            }
            Dtype dtype = m.group(1).equals("<f4") ? Dtype.Q8 : Dtype.Q4;
            int codes = Integer.parseInt(m.group(2));
            int maxCodes = QuantizedRows.codeBytes(dtype, EmbeddingStore.MAX_DIM);
            if (codes < 1 || codes > maxCodes) {
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        ".npy row of " + codes + " code bytes is outside [1, " + maxCodes + "]");
            }
            return new Parsed(dtype, h.rows(), codes);
        }
        if (h.cols() == 0) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "unreadable .npy header dictionary: " + h.dictionary().strip());
        }
        Dtype dtype = Dtype.fromNpyDescr(h.descr());
        if (dtype == null) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy dtype '" + h.descr() + "' is not supported, expected '<f4' or '<f2'");
        }
        if (h.cols() < 1 || h.cols() > EmbeddingStore.MAX_DIM) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy dim " + h.cols() + " is outside [1, " + EmbeddingStore.MAX_DIM + "]");
        }
        return new Parsed(dtype, h.rows(), (int) h.cols());
    }
}
