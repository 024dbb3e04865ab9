package io.embstore.store.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.embstore.store.StoreException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The one {@code .npy} header writer serves every array file: f32 and f16, one and two dimensions. */
class NpyHeaderTest {
    private static String dictionary(MemorySegment seg) {
        byte[] b = seg.asSlice(NpyHeader.DICT_OFFSET, NpyHeader.BYTES - NpyHeader.DICT_OFFSET).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, StandardCharsets.US_ASCII).strip();
    }

    /** Writes a header, checks its bytes and dictionary, and parses it back. */
    private static NpyHeader.Parsed roundTrip(String descr, long rows, long cols, String shape) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(NpyHeader.BYTES);
            NpyHeader.write(seg, descr, rows, cols);
            assertEquals("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", dictionary(seg));
            assertEquals(0x93, seg.get(ValueLayout.JAVA_BYTE, 0) & 0xff);
            assertEquals('\n', seg.get(ValueLayout.JAVA_BYTE, NpyHeader.BYTES - 1));
            NpyHeader.Parsed p = NpyHeader.read(seg, Path.of("x.npy"));
            assertEquals(rows, p.rows());
            return p;
        }
    }

    @Test
    void twoDimensionsRoundTrip() {
        NpyHeader.Parsed p = roundTrip("<f2", 7, 300, "(7, 300)");
        assertEquals("<f2", p.descr());
        assertFalse(p.fortranOrder());
        assertEquals(300, p.cols());
    }

    @Test
    void oneDimensionIsWrittenAsNumPyDoes() {
        NpyHeader.Parsed p = roundTrip("<f4", 12, 0, "(12,)");
        assertEquals(0, p.cols());
        assertEquals(NpyHeader.BYTES + 12 * 4, NpyHeader.fileBytes(12, 4));
    }

    @Test
    void aBadMagicIsCorrupt() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(NpyHeader.BYTES);
            NpyHeader.write(seg, "<f4", 1, 1);
            seg.set(ValueLayout.JAVA_BYTE, 3, (byte) 'X');
            StoreException e = assertThrows(StoreException.class, () -> NpyHeader.read(seg, Path.of("x.npy")));
            assertEquals(StoreException.Kind.CORRUPT, e.kind());
            assertEquals("x.npy: not a NumPy 1.0 .npy file: bad magic at byte 3", e.getMessage());
        }
    }
}
