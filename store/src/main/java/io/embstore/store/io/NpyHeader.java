package io.embstore.store.io;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Layout of the NumPy {@code .npy} header that starts {@code matrix.npy}.
 *
 * <pre>
 *  0      6   7   8       10                                         4095 4096
 *  +------+---+---+--------+--------------------------------------------+----------------
 *  |\x93NUMPY|1 |0 | hlen LE| {'descr': '&lt;f4', 'fortran_order': False, | row 0, row 1, ...
 *  |      |   |   | uint16 |  'shape': (R, D), }   ...spaces...     \n  | (C order)
 *  +------+---+---+--------+--------------------------------------------+----------------
 * </pre>
 *
 * The header is always {@link #BYTES} long so that row 0 starts on a page boundary and so that the shape can be
 * rewritten in place when the table grows. This is format version 1.0 of the NumPy format, which any NumPy reads with
 * {@code numpy.load(path, mmap_mode="r")}.
 */
public final class NpyHeader {
    /** Total header size, magic included; row 0 starts here. */
    public static final int BYTES = 4096;
    /** Offset of the little-endian uint16 header length. */
    public static final int HEADER_LEN_OFFSET = 8;
    /** Offset of the ASCII dictionary. */
    public static final int DICT_OFFSET = 10;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    private static final Pattern DICT = Pattern.compile(
            "\\{'descr': '([<>|=]?[a-z][0-9]+)', 'fortran_order': (True|False), 'shape': \\((\\d+), (\\d+)\\), \\} *\\n");

    private NpyHeader() {
    }

    /** Writes a complete header for {@code rows x dim} of {@code dtype} into the first {@link #BYTES} of {@code seg}. */
    public static void write(MemorySegment seg, EmbeddingStore.Dtype dtype, long rows, int dim) {
        String dict = "{'descr': '" + dtype.npyDescr() + "', 'fortran_order': False, 'shape': (" + rows + ", " + dim + "), }";
        byte[] bytes = new byte[BYTES];
        System.arraycopy(MAGIC, 0, bytes, 0, MAGIC.length);
        int headerLen = BYTES - DICT_OFFSET;
        bytes[HEADER_LEN_OFFSET] = (byte) headerLen;
        bytes[HEADER_LEN_OFFSET + 1] = (byte) (headerLen >>> 8);
        byte[] d = dict.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(d, 0, bytes, DICT_OFFSET, d.length);
        for (int i = DICT_OFFSET + d.length; i < BYTES - 1; i++) {
            bytes[i] = ' ';
        }
        bytes[BYTES - 1] = '\n';
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, BYTES);
    }

    /** What a header says, after it was checked to be one this store writes. */
    public record Parsed(EmbeddingStore.Dtype dtype, long rows, int dim) {
    }

    /**
     * Parses and checks a header; the message of the exception names what was expected.
     *
     * @param file for error messages
     */
    public static Parsed read(MemorySegment seg, Path file) {
        if (seg.byteSize() < BYTES) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "truncated .npy header: " + seg.byteSize() + " bytes, expected " + BYTES);
        }
        byte[] bytes = seg.asSlice(0, BYTES).toArray(ValueLayout.JAVA_BYTE);
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new StoreException(StoreException.Kind.CORRUPT, file, "not a NumPy 1.0 .npy file: bad magic at byte " + i);
            }
        }
        int headerLen = (bytes[HEADER_LEN_OFFSET] & 0xff) | (bytes[HEADER_LEN_OFFSET + 1] & 0xff) << 8;
        if (headerLen != BYTES - DICT_OFFSET) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, ".npy header length is " + headerLen + ", expected " + (BYTES - DICT_OFFSET)
                    + " (row 0 must start at byte " + BYTES + ")");
        }
        String dict = new String(bytes, DICT_OFFSET, BYTES - DICT_OFFSET, StandardCharsets.ISO_8859_1);
        Matcher m = DICT.matcher(dict);
        if (!m.matches()) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "unreadable .npy header dictionary: " + dict.strip());
        }
        EmbeddingStore.Dtype dtype = EmbeddingStore.Dtype.fromNpyDescr(m.group(1));
        if (dtype == null) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, ".npy dtype '" + m.group(1) + "' is not supported, expected '<f4' or '<f2'");
        }
        if (m.group(2).equals("True")) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, ".npy matrix is in Fortran order, expected C order");
        }
        long rows;
        long dim;
        try {
            rows = Long.parseLong(m.group(3));
            dim = Long.parseLong(m.group(4));
        } catch (NumberFormatException e) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, ".npy shape is out of range: (" + m.group(3) + ", " + m.group(4) + ")");
        }
        if (dim < 1 || dim > EmbeddingStore.MAX_DIM) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, ".npy dim " + dim + " is outside [1, " + EmbeddingStore.MAX_DIM + "]");
        }
        return new Parsed(dtype, rows, (int) dim);
    }
}
