package io.embstore.benchmarks.serverlibrary;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The work of one request, the same for every library: ids out of a JSON body, their rows into a .npy answer. */
final class NpyLookup {
    private final EmbeddingStore store;

    NpyLookup(EmbeddingStore store) {
        this.store = store;
    }

    /**
     * {@code {"ids": [1, 2, ...]}} to a .npy file of those rows. A deliberately small parser (digits between the
     * brackets): the prototypes compare libraries, and the real server parses with Jackson.
     */
    byte[] answer(byte[] body) {
        long[] ids = new long[64];
        int n = 0;
        int i = 0;
        while (i < body.length && body[i] != '[') {
            i++;
        }
        long v = -1;
        for (; i < body.length && body[i] != ']'; i++) {
            byte b = body[i];
            if (b >= '0' && b <= '9') {
                v = (v < 0 ? 0 : v * 10) + (b - '0');
            } else if (v >= 0) {
                if (n == ids.length) {
                    ids = Arrays.copyOf(ids, n * 2);
                }
                ids[n++] = v;
                v = -1;
            }
        }
        if (v >= 0) {
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, n + 1);
            }
            ids[n++] = v;
        }
        ids = Arrays.copyOf(ids, n);
        byte[] header = header(n, store.dim());
        byte[] out = Arrays.copyOf(header, header.length + n * store.dim() * Float.BYTES);
        store.gather(ids, MemorySegment.ofArray(out).asSlice(header.length), ReadMode.CONSISTENT);
        return out;
    }

    /** A .npy version 1.0 header for a C-order little-endian float32 array of shape (n, dim), padded to 64 bytes. */
    static byte[] header(int n, int dim) {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + n + ", " + dim + "), }";
        int total = 10 + dict.length() + 1;
        total = (total + 63) / 64 * 64;
        byte[] h = new byte[total];
        h[0] = (byte) 0x93;
        System.arraycopy("NUMPY".getBytes(StandardCharsets.US_ASCII), 0, h, 1, 5);
        h[6] = 1;
        h[7] = 0;
        int len = total - 10;
        h[8] = (byte) len;
        h[9] = (byte) (len >>> 8);
        byte[] d = dict.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(d, 0, h, 10, d.length);
        Arrays.fill(h, 10 + d.length, total - 1, (byte) ' ');
        h[total - 1] = '\n';
        return h;
    }
}
