package io.embstore.formats;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A sliding window over a stream (a gzip-compressed input), exposed as a heap {@link MemorySegment} so that the same
 * parsing code serves mapped and streamed input. The window grows only as far as the longest line or row needs.
 */
final class StreamWindow {
    private final InputStream in;
    private final Path file;
    private byte[] buf = new byte[1 << 20];
    private MemorySegment seg = MemorySegment.ofArray(buf);
    private int pos;
    private int limit;
    private long consumedBefore;
    private boolean eof;

    StreamWindow(InputStream in, Path file) {
        this.in = in;
        this.file = file;
    }

    MemorySegment segment() {
        return seg;
    }

    /** The window's bytes; valid until the next {@link #fill} or {@link #find}. */
    byte[] buffer() {
        return buf;
    }

    /** Window offset of the next unread byte. */
    int pos() {
        return pos;
    }

    /** Window offset just past the last byte read from the stream. */
    int limit() {
        return limit;
    }

    /** Input offset (in uncompressed bytes) of window offset {@code at}. */
    long inputOffset(long at) {
        return consumedBefore + at;
    }

    void advanceTo(int at) {
        pos = at;
    }

    /** Makes at least {@code n} bytes available from {@link #pos()}; returns false when the stream ends first. */
    boolean fill(int n) {
        if (limit - pos >= n) {
            return true;
        }
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            consumedBefore += pos;
            limit -= pos;
            pos = 0;
        }
        if (n > buf.length) {
            byte[] bigger = new byte[Math.max(n, buf.length * 2)];
            System.arraycopy(buf, 0, bigger, 0, limit);
            buf = bigger;
            seg = MemorySegment.ofArray(buf);
        }
        try {
            while (limit - pos < n && !eof) {
                int r = in.read(buf, limit, buf.length - limit);
                if (r < 0) {
                    eof = true;
                } else {
                    limit += r;
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw InputException.atOffset(file, inputOffset(limit), "corrupt gzip data: " + e.getMessage());
        } catch (java.io.EOFException e) {
            throw InputException.atOffset(file, inputOffset(limit), "the gzip stream is truncated");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        return limit - pos >= n;
    }

    /**
     * Window offset of the next {@code b} at or after {@link #pos()}, reading more as needed but never holding more
     * than {@code max} bytes from pos; -1 if the stream ends (or {@code max} is reached) first.
     */
    long find(byte b, int max) {
        int searched = 0;
        while (true) {
            long at = TextScan.indexOf(buf, pos + searched, limit, b);
            if (at >= 0) {
                return at;
            }
            searched = limit - pos;
            if (searched >= max || !fill(Math.min(max, Math.max(searched * 2, searched + (1 << 20))))) {
                at = TextScan.indexOf(buf, pos + searched, limit, b);
                if (at >= 0) {
                    return at;
                }
                if (eof || searched >= max) {
                    return -1;
                }
            }
        }
    }

    boolean atEnd() {
        return pos >= limit && !fill(1);
    }
}
