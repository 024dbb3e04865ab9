package io.embstore.trainer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Layout of an optimizer state file: a NumPy {@code .npy} file (format 1.0) with a header padded to {@link #BYTES},
 * exactly like the store's {@code matrix.npy}, so that row 0 is page-aligned and
 * {@code numpy.load("optim.m.npy", mmap_mode="r")} maps the very pages the trainer uses.
 *
 * <pre>
 *  0         8        10                                                      4095 4096
 *  +---------+--------+---------------------------------------------------------+------------------
 *  |\x93NUMPY 1 0| hlen LE| {'descr': '&lt;f4', 'fortran_order': False,           | row 0, row 1, ...
 *  |         | uint16 |  'shape': (R, C), }   ...spaces...                  \n | (C order)
 *  +---------+--------+---------------------------------------------------------+------------------
 * </pre>
 *
 * A one-dimensional array ({@code cols == 0}) has the shape {@code (R,)}. {@code R} is the state's capacity in rows.
 */
final class StateNpy {
    /** Header size; row 0 starts here, on a page boundary. */
    static final int BYTES = 4096;
    /** Offset of the little-endian uint16 header length (always {@code BYTES - DICT_OFFSET}). */
    static final int HEADER_LEN_OFFSET = 8;
    /** Offset of the ASCII dictionary. */
    static final int DICT_OFFSET = 10;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    private static final Pattern DICT = Pattern.compile(
            "\\{'descr': '([<>|]?[a-z][0-9]+)', 'fortran_order': (True|False), 'shape': \\((\\d+),(?: (\\d+))?\\), \\} *\\n");

    private StateNpy() {
    }

    /** Bytes of a file holding {@code rows} rows of {@code rowBytes}. */
    static long fileBytes(long rows, long rowBytes) {
        return BYTES + rows * rowBytes;
    }

    /** Writes the header for {@code rows x cols} (cols 0: one dimension) of {@code descr} into {@code seg}. */
    static void write(MemorySegment seg, String descr, long rows, int cols) {
        String shape = cols == 0 ? "(" + rows + ",)" : "(" + rows + ", " + cols + ")";
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
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
     * Checks the header in {@code seg} says {@code descr}, C order and {@code cols} columns, and returns its row count.
     *
     * @throws io.embstore.store.StoreException of kind CORRUPT naming {@code file} and the bad value
     */
    static long check(MemorySegment seg, Path file, String descr, int cols) {
        if (seg.byteSize() < BYTES) {
            throw StateErrors.corrupt(file, "truncated: " + seg.byteSize() + " bytes, a state file has a "
                    + BYTES + "-byte header");
        }
        byte[] head = new byte[BYTES];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 0, head, 0, BYTES);
        for (int i = 0; i < MAGIC.length; i++) {
            if (head[i] != MAGIC[i]) {
                throw StateErrors.corrupt(file, "not a NumPy 1.0 .npy file (bad magic)");
            }
        }
        int headerLen = (head[HEADER_LEN_OFFSET] & 0xff) | (head[HEADER_LEN_OFFSET + 1] & 0xff) << 8;
        if (headerLen != BYTES - DICT_OFFSET) {
            throw StateErrors.corrupt(file, "header length " + headerLen + ", expected " + (BYTES - DICT_OFFSET));
        }
        String dict = new String(head, DICT_OFFSET, headerLen, StandardCharsets.US_ASCII);
        Matcher m = DICT.matcher(dict);
        if (!m.matches()) {
            throw StateErrors.corrupt(file, "unreadable .npy header: " + dict.strip());
        }
        if (!m.group(1).equals(descr) || !m.group(2).equals("False")) {
            throw StateErrors.corrupt(file, "dtype " + m.group(1) + ", fortran_order " + m.group(2)
                    + "; the trainer writes " + descr + " in C order");
        }
        int gotCols = m.group(4) == null ? 0 : Integer.parseInt(m.group(4));
        if (gotCols != cols) {
            throw StateErrors.corrupt(file, "shape has " + (m.group(4) == null ? "one dimension" : gotCols + " columns")
                    + ", expected " + (cols == 0 ? "one dimension" : cols + " columns"));
        }
        return Long.parseLong(m.group(3));
    }
}
