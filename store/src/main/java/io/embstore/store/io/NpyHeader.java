package io.embstore.store.io;

import io.embstore.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Layout of the NumPy {@code .npy} header (format 1.0) that starts every array file embstore maps: the store's
 * {@code matrix.npy} and the trainer's optimizer state.
 *
 * <pre>
 *  0      6   7   8       10                                         4095 4096
 *  +------+---+---+--------+--------------------------------------------+----------------
 *  |\x93NUMPY|1 |0 | hlen LE| {'descr': '&lt;f4', 'fortran_order': False, | row 0, row 1, ...
 *  |      |   |   | uint16 |  'shape': (R, C), }   ...spaces...     \n  | (C order)
 *  +------+---+---+--------+--------------------------------------------+----------------
 * </pre>
 *
 * The header is always {@link #BYTES} long so that row 0 starts on a page boundary and so that the shape can be
 * rewritten in place when the table grows; any NumPy reads the file with {@code numpy.load(path, mmap_mode="r")}. The
 * element type is any NumPy dtype string ({@code <f4}, {@code <f2}, ...) or a structured dtype's list of fields
 * ({@code [('scale', '<f4'), ('bias', '<f4'), ('q', '|u1', (300,))]}, one record a row, for the quantized matrices);
 * the shape has one dimension {@code (R,)} or two {@code (R, C)}. What a file must hold beyond that (which dtypes, how
 * many columns) its owner checks.
 */
public final class NpyHeader {
    /** Total header size, magic included; row 0 starts here. */
    public static final int BYTES = 4096;
    /** Offset of the little-endian uint16 header length (always {@code BYTES - DICT_OFFSET}). */
    public static final int HEADER_LEN_OFFSET = 8;
    /** Offset of the ASCII dictionary. */
    public static final int DICT_OFFSET = 10;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    private static final Pattern DICT = Pattern.compile(
            "\\{'descr': (?:'([<>|=]?[a-z][0-9]+)'|(\\[[^\\]\\n]*\\])), 'fortran_order': (True|False), 'shape': \\((\\d+),(?: (\\d+))?\\), \\} *\\n");

    private NpyHeader() {
    }

    /** Bytes of a file holding {@code rows} rows of {@code rowBytes} after the header. */
    public static long fileBytes(long rows, long rowBytes) {
        return BYTES + rows * rowBytes;
    }

    /**
     * Writes a complete header for {@code rows x cols} elements of {@code descr} in C order into the first
     * {@link #BYTES} of {@code seg}; {@code cols == 0} writes the one-dimensional shape {@code (rows,)}.
     */
    public static void write(MemorySegment seg, String descr, long rows, long cols) {
        writeDescr(seg, "'" + descr + "'", rows, cols);
    }

    /**
     * Writes a complete header for {@code rows} records of the structured dtype whose field list is {@code fields}
     * (a Python literal such as {@code [('scale', '<f4'), ('q', '|u1', (300,))]}), shape {@code (rows,)}.
     */
    public static void writeRecords(MemorySegment seg, String fields, long rows) {
        writeDescr(seg, fields, rows, 0);
    }

    private static void writeDescr(MemorySegment seg, String descrLiteral, long rows, long cols) {
        String shape = cols == 0 ? "(" + rows + ",)" : "(" + rows + ", " + cols + ")";
        String dict = "{'descr': " + descrLiteral + ", 'fortran_order': False, 'shape': " + shape + ", }";
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

    /**
     * What a header says.
     *
     * @param descr the NumPy dtype string, or a structured dtype's field list as written (starting with {@code [})
     * @param cols the second dimension, or 0 for a one-dimensional array
     * @param dictionary the header's dictionary as written, for error messages
     */
    public record Parsed(String descr, boolean fortranOrder, long rows, long cols, String dictionary) {
    }

    /**
     * Parses a header of the form this class writes; a {@link StoreException.Kind#CORRUPT} error names {@code file}
     * and what was expected.
     */
    public static Parsed read(MemorySegment seg, Path file) {
        if (seg.byteSize() < BYTES) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "truncated .npy header: " + seg.byteSize() + " bytes, expected " + BYTES);
        }
        byte[] bytes = seg.asSlice(0, BYTES).toArray(ValueLayout.JAVA_BYTE);
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        "not a NumPy 1.0 .npy file: bad magic at byte " + i);
            }
        }
        int headerLen = (bytes[HEADER_LEN_OFFSET] & 0xff) | (bytes[HEADER_LEN_OFFSET + 1] & 0xff) << 8;
        if (headerLen != BYTES - DICT_OFFSET) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy header length is " + headerLen + ", expected " + (BYTES - DICT_OFFSET)
                    + " (row 0 must start at byte " + BYTES + ")");
        }
        String dict = new String(bytes, DICT_OFFSET, BYTES - DICT_OFFSET, StandardCharsets.ISO_8859_1);
        Matcher m = DICT.matcher(dict);
        if (!m.matches()) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "unreadable .npy header dictionary: " + dict.strip());
        }
        try {
            return new Parsed(m.group(1) != null ? m.group(1) : m.group(2), m.group(3).equals("True"),
                    Long.parseLong(m.group(4)), m.group(5) == null ? 0 : Long.parseLong(m.group(5)), dict);
        } catch (NumberFormatException e) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    ".npy shape is out of range: (" + m.group(4) + ","
                    + (m.group(5) == null ? "" : " " + m.group(5)) + ")");
        }
    }
}
