package io.embstore.index;

import io.embstore.store.StoreException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The layout of {@code ann.index}, the one file of a store's approximate-neighbour index (docs/FORMAT.md, "ann.index").
 * All numbers are little-endian.
 *
 * <pre>
 *  0        8        12       16                24       28       32               40       44       48       52       56
 *  +--------+--------+--------+----------------+--------+--------+----------------+--------+--------+--------+--------+
 *  | magic  |version |header  | rows           | dim    | dtype  | generation     | m      | degree | beam   | entry  |
 *  +--------+--------+--------+----------------+--------+--------+----------------+--------+--------+--------+--------+
 *  56                64               72               80               88       92       96               104     124  128
 *  +----------------+----------------+----------------+----------------+--------+--------+----------------+ ... +--------+
 *  | padding_index  | versions_off   | adjacency_off  | file_bytes     |body_crc|samples | built_millis   | 0s  |hdr_crc |
 *  +----------------+----------------+----------------+----------------+--------+--------+----------------+ ... +--------+
 *  128: samples x 16 bytes  (row int64, version int32, crc32c of the row's float32 values int32)
 *  versions_off: rows x int32  (each row's rows.seq counter when the build began)
 *  adjacency_off: rows x (1 + degree) x int32  (neighbour count, then the neighbours; unused slots -1)
 * </pre>
 *
 * The header CRC covers bytes {@code [0, 124)}, the body CRC bytes {@code [128, file_bytes)}. The dtype is the store's
 * label in four bytes of ASCII, zero-padded ({@code f32\0}).
 */
final class AnnFile {
    /** The file's name in the store directory. */
    static final String NAME = "ann.index";
    /** {@code EMBSTANN} in ASCII, read as a little-endian int64. */
    static final long MAGIC = ByteBuffer.wrap("EMBSTANN".getBytes(StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    static final int VERSION = 1;
    static final int HEADER_BYTES = 128;
    /** Bytes of one sample record. */
    static final int SAMPLE_BYTES = 16;
    /** Rows whose content is recorded at build time, to recognise an index copied from another store. */
    static final int MAX_SAMPLES = 16;

    /** int64: {@link #MAGIC}. */
    static final long MAGIC_AT = 0;
    /** int32: {@link #VERSION}. */
    static final long VERSION_AT = 8;
    /** int32: {@link #HEADER_BYTES}. */
    static final long HEADER_BYTES_AT = 12;
    /** int64: rows covered by the graph (rows [0, rows) of the store when the build began). */
    static final long ROWS_AT = 16;
    /** int32: the store's dim. */
    static final long DIM_AT = 24;
    /** 4 bytes: the store's dtype label, ASCII, zero-padded. */
    static final long DTYPE_AT = 28;
    /** int64: the store's generation when the build began. */
    static final long GENERATION_AT = 32;
    /** int32: M, the build's neighbours per node. */
    static final long M_AT = 40;
    /** int32: adjacency slots per node. */
    static final long DEGREE_AT = 44;
    /** int32: the build's beam width. */
    static final long BEAM_AT = 48;
    /** int32: the node searches start from; -1 for an empty graph. */
    static final long ENTRY_AT = 52;
    /** int64: the store's padding row at build time, or -1. */
    static final long PADDING_AT = 56;
    /** int64: where the row versions start. */
    static final long VERSIONS_OFFSET_AT = 64;
    /** int64: where the adjacency lists start. */
    static final long ADJACENCY_OFFSET_AT = 72;
    /** int64: the whole file's size. */
    static final long FILE_BYTES_AT = 80;
    /** int32: CRC-32C of bytes [HEADER_BYTES, file_bytes). */
    static final long BODY_CRC_AT = 88;
    /** int32: sample records after the header. */
    static final long SAMPLES_AT = 92;
    /** int64: when the build finished, milliseconds since the epoch. */
    static final long BUILT_MILLIS_AT = 96;
    /** int32: CRC-32C of bytes [0, HEADER_CRC_AT). */
    static final long HEADER_CRC_AT = 124;

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private AnnFile() {
    }

    /** Where the versions start for {@code samples} sample records. */
    static long versionsOffset(int samples) {
        return HEADER_BYTES + (long) samples * SAMPLE_BYTES;
    }

    static long adjacencyOffset(int samples, long rows) {
        return versionsOffset(samples) + rows * Integer.BYTES;
    }

    static long fileBytes(int samples, long rows, int degree) {
        return adjacencyOffset(samples, rows) + rows * (1L + degree) * Integer.BYTES;
    }

    /** The four dtype bytes of {@code label}. */
    static int dtypeCode(String label) {
        byte[] b = label.getBytes(StandardCharsets.US_ASCII);
        if (b.length > 4) {
            throw new IllegalArgumentException("dtype label longer than 4 bytes: " + label);
        }
        int code = 0;
        for (int i = 0; i < b.length; i++) {
            code |= (b[i] & 0xff) << (8 * i);
        }
        return code;
    }

    static String dtypeLabel(int code) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            int c = (code >>> (8 * i)) & 0xff;
            if (c == 0) {
                break;
            }
            b.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
        }
        return b.toString();
    }

    /** CRC-32C of {@code segment[from, to)}, in chunks (a ByteBuffer view holds at most 2 GiB). */
    static int crc(MemorySegment segment, long from, long to) {
        CRC32C crc = new CRC32C();
        long chunk = 1L << 30;
        for (long at = from; at < to; at += chunk) {
            crc.update(segment.asSlice(at, Math.min(chunk, to - at)).asByteBuffer());
        }
        return (int) crc.getValue();
    }

    /** A CORRUPT error about {@code file}. */
    static StoreException corrupt(Path file, String what) {
        return new StoreException(StoreException.Kind.CORRUPT, file, what
                + "; rebuild the index (embstore index STORE, or AnnIndex.build)");
    }
}
