package io.embstore.formats;

import io.embstore.store.EmbeddingStore;
import java.util.Locale;

/**
 * The vector file formats embstore reads and writes.
 *
 * <ul>
 *   <li>{@link #WORD2VEC}: text; a header line {@code rows dim}, then {@code word v1 ... vdim} per line. fastText's
 *       {@code .vec} files are this format.</li>
 *   <li>{@link #GLOVE}: text without a header; dim is the number of values on the first line.</li>
 *   <li>{@link #WORD2VEC_BINARY}: the GoogleNews layout; the same header line, then per row the word, one space,
 *       dim little-endian float32 values and an optional newline.</li>
 *   <li>{@link #FASTTEXT_BIN}: a fastText {@code .bin} model, words and character n-gram buckets
 *       ({@link FastTextBinReader}); read only, recognised by its magic number.</li>
 * </ul>
 */
public enum VectorFormat {
    WORD2VEC("word2vec"),
    GLOVE("glove"),
    WORD2VEC_BINARY("word2vec-binary"),
    FASTTEXT_BIN("fasttext-bin");

    private final String label;

    VectorFormat(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The format named on the command line ({@code fasttext} and {@code vec} are {@link #WORD2VEC}), or null. */
    public static VectorFormat fromLabel(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "word2vec", "word2vec-text", "fasttext", "vec", "text" -> WORD2VEC;
            case "glove" -> GLOVE;
            case "word2vec-binary", "binary", "bin" -> WORD2VEC_BINARY;
            case "fasttext-bin" -> FASTTEXT_BIN;
            default -> null;
        };
    }

    /** The header of a word2vec file (text or binary). */
    record Header(long rows, long dim, int endOffset) {
    }

    /**
     * Reads a {@code rows dim} header line starting at {@code from}, or returns null when the first line is not one
     * (two integers and nothing else but spaces, tabs and the line end). Negative numbers are returned as they are,
     * for the caller to reject with a message that names them.
     */
    static Header header(byte[] buf, int from, int limit) {
        int end = Math.min(limit, from + 256);
        int i = from;
        long[] numbers = new long[2];
        int count = 0;
        while (i < end) {
            byte c = buf[i];
            if (c == '\n') {
                break;
            }
            if (c == ' ' || c == '\t' || c == '\r') {
                i++;
                continue;
            }
            boolean negative = c == '-';
            if (negative) {
                i++;
                c = i < end ? buf[i] : 0;
            }
            if (c < '0' || c > '9' || count == 2) {
                return null;
            }
            long n = 0;
            while (i < end && (c = buf[i]) >= '0' && c <= '9') {
                if (n > (Long.MAX_VALUE - 9) / 10) {
                    return null;
                }
                n = n * 10 + (c - '0');
                i++;
            }
            if (negative) {
                n = -n;
            }
            numbers[count++] = n;
        }
        if (count != 2 || i >= end && end < limit) {
            return null;
        }
        return new Header(numbers[0], numbers[1], i < limit ? i + 1 : i);
    }

    /**
     * Guesses the format of an input from its first bytes: no header is GloVe; after a header, a first row that is
     * text (a word and then {@code dim} numbers on one line, or fields written with the characters of numbers, which
     * the text reader then checks) is word2vec text, anything else is binary.
     */
    static VectorFormat detect(byte[] buf, int from, int limit) {
        Header h = header(buf, from, limit);
        if (h == null) {
            return GLOVE;
        }
        int lineEnd = TextScan.indexOf(buf, h.endOffset(), limit, (byte) '\n');
        if (lineEnd < 0) {
            lineEnd = limit;
        }
        int lineStart = h.endOffset();
        for (int i = lineStart; i < lineEnd; i++) {
            int c = buf[i] & 0xff;
            if (c < 0x20 && c != '\t' && c != '\r') {
                return WORD2VEC_BINARY;
            }
        }
        if (h.rows() == 0) {
            return WORD2VEC;
        }
        // Text only if the row ends in dim fields that all parse as numbers, after a word of one field or more (the
        // word may contain spaces: GloVe 840B's do, and so do words exported from such a store).
        long dim = h.dim();
        if (dim < 1 || dim > EmbeddingStore.MAX_DIM) {
            return WORD2VEC_BINARY; // either way the header check rejects the dim, naming it
        }
        int[] starts = new int[(int) dim + 1];
        int[] ends = new int[starts.length];
        long fields = 0;
        int i = lineStart;
        while (i < lineEnd) {
            while (i < lineEnd && isBlank(buf[i])) {
                i++;
            }
            if (i >= lineEnd) {
                break;
            }
            int tokenEnd = i;
            while (tokenEnd < lineEnd && !isBlank(buf[tokenEnd])) {
                tokenEnd++;
            }
            // A ring of the last dim + 1 fields: only those decide.
            int slot = (int) (fields % starts.length);
            starts[slot] = i;
            ends[slot] = tokenEnd;
            fields++;
            i = tokenEnd;
        }
        if (fields < dim + 1) {
            return WORD2VEC_BINARY;
        }
        FloatParser parser = new FloatParser();
        boolean numbers = true;
        boolean numberCharacters = true;
        for (long f = fields - dim; f < fields; f++) {
            int slot = (int) (f % starts.length);
            try {
                parser.parse(buf, starts[slot], ends[slot]);
            } catch (NumberFormatException e) {
                numbers = false;
            }
            numberCharacters &= numberCharacters(buf, starts[slot], ends[slot]);
        }
        // A row of text whose values are made of the characters numbers are written with ('0x1p3', '1.0.0') is text
        // with a bad value, for the text reader to name; raw float bytes are rarely all such ASCII characters.
        return numbers || numberCharacters && Utf8Check.firstInvalid(buf, lineStart, lineEnd) < 0 ? WORD2VEC
                : WORD2VEC_BINARY;
    }

    private static boolean numberCharacters(byte[] buf, int from, int to) {
        for (int i = from; i < to; i++) {
            int c = buf[i];
            boolean ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '+'
                    || c == '-' || c == '_';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean isBlank(byte c) {
        return c == ' ' || c == '\t' || c == '\r';
    }
}
