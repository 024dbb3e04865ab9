package io.embstore.store;

/**
 * Element type of the matrix. Reads always give float32.
 *
 * <p>{@link #F32} and {@link #F16} store one value per element. {@link #Q8} and {@link #Q4} are row-wise quantized
 * (FBGEMM's layout): each row holds its own scale and bias followed by one unsigned code per element, and a value reads
 * as {@code scale * code + bias} in float32 (see {@link QuantizedRows} and docs/FORMAT.md). Their rows are not
 * {@code dim * bytes} long: every size computation goes through {@link #rowBytes(int)}.
 */
public enum Dtype {
    /** IEEE binary32, NumPy {@code <f4}. */
    F32("f32", "<f4", 4),
    /** IEEE binary16, NumPy {@code <f2}: half the bytes, about 3 significant digits. */
    F16("f16", "<f2", 2),
    /**
     * Row-wise int8: float32 scale, float32 bias, then {@code dim} uint8 codes ({@code 8 + dim} bytes a row; 308 at dim
     * 300, 3.9x smaller than f32).
     */
    Q8("q8", null, 0),
    /**
     * Row-wise int4: binary16 scale, binary16 bias, then {@code ceil(dim / 2)} bytes of two 4-bit codes, low nibble first
     * ({@code 4 + ceil(dim / 2)} bytes a row; 154 at dim 300).
     */
    Q4("q4", null, 0);

    private final String label;
    private final String npyDescr;
    private final int bytes;

    Dtype(String label, String npyDescr, int bytes) {
        this.label = label;
        this.npyDescr = npyDescr;
        this.bytes = bytes;
    }

    /** The name used in manifests and on the command line: {@code f32}, {@code f16}, {@code q8} or {@code q4}. */
    public String label() {
        return label;
    }

    /**
     * Bytes per element of {@link #F32} and {@link #F16}.
     *
     * @throws UnsupportedOperationException for a quantized dtype, whose rows are not a whole number of bytes per
     *                                       element: use {@link #rowBytes(int)}
     */
    public int bytes() {
        if (bytes == 0) {
            throw new UnsupportedOperationException(label + " rows have no fixed bytes per element: use rowBytes(dim)");
        }
        return bytes;
    }

    /** Bytes of one stored row of {@code dim} elements, scale and bias included for the quantized dtypes. */
    public long rowBytes(int dim) {
        return switch (this) {
            case F32, F16 -> (long) dim * bytes;
            case Q8 -> QuantizedRows.Q8_HEADER_BYTES + (long) dim;
            case Q4 -> QuantizedRows.Q4_HEADER_BYTES + ((long) dim + 1) / 2;
        };
    }

    /** Whether rows are row-wise quantized ({@link #Q8}, {@link #Q4}): writes quantize, reads dequantize. */
    public boolean quantized() {
        return bytes == 0;
    }

    /**
     * The NumPy dtype string of one element: {@code <f4} or {@code <f2}.
     *
     * @throws UnsupportedOperationException for a quantized dtype, whose {@code matrix.npy} holds one structured record
     *                                       per row instead (docs/FORMAT.md)
     */
    public String npyDescr() {
        if (npyDescr == null) {
            throw new UnsupportedOperationException(label + " has no NumPy element type: its matrix.npy holds one"
                    + " structured record a row");
        }
        return npyDescr;
    }

    /** The dtype named {@code label} ({@code f32}, {@code f16}, {@code q8}, {@code q4}), or null. */
    public static Dtype fromLabel(String label) {
        for (Dtype d : values()) {
            if (d.label.equals(label)) {
                return d;
            }
        }
        return null;
    }

    /** The dtype of the NumPy dtype string {@code descr} ({@code <f4}, {@code <f2}), or null. */
    public static Dtype fromNpyDescr(String descr) {
        for (Dtype d : values()) {
            if (d.npyDescr != null && d.npyDescr.equals(descr)) {
                return d;
            }
        }
        return null;
    }
}
