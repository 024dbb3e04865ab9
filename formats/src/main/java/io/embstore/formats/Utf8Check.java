package io.embstore.formats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finds the first byte that breaks UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), eight
 * ASCII bytes at a time on the common path.
 */
final class Utf8Check {
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private Utf8Check() {
    }

    /** Offset of the first invalid byte in {@code buf[from, to)}, or -1 when it is all valid UTF-8. */
    static int firstInvalid(byte[] buf, int from, int to) {
        int i = from;
        while (i < to) {
            if (i + 8 <= to && ((long) LONG.get(buf, i) & 0x8080808080808080L) == 0) {
                i += 8;
                continue;
            }
            int b = buf[i] & 0xff;
            if (b < 0x80) {
                i++;
                continue;
            }
            int need;
            int min;
            if (b >= 0xc2 && b <= 0xdf) {
                need = 1;
                min = 0x80;
            } else if (b >= 0xe0 && b <= 0xef) {
                need = 2;
                min = 0x800;
            } else if (b >= 0xf0 && b <= 0xf4) {
                need = 3;
                min = 0x10000;
            } else {
                return i;
            }
            if (i + need >= to) {
                return i;
            }
            int cp = b & (0x3f >> need);
            for (int k = 1; k <= need; k++) {
                int c = buf[i + k] & 0xff;
                if ((c & 0xc0) != 0x80) {
                    return i;
                }
                cp = cp << 6 | (c & 0x3f);
            }
            if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                return i;
            }
            i += need + 1;
        }
        return -1;
    }
}
