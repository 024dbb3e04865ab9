package io.embstore.formats;

/**
 * Splits one text line of a vector file into its word and its {@code dim} values.
 *
 * <p>The last {@code dim} fields are the vector and the rest is the word, so tokens that contain spaces (GloVe 840B
 * has them) survive. The common line, a one-field word, takes a single forward pass; only a line with a field after
 * the first that is not a finite number, or with more than {@code dim} numbers, is re-read from its end. Fields are
 * separated by spaces; tabs and a trailing carriage return or spaces are tolerated. A line with more numbers than
 * {@code dim} whose extra fields are all numbers is an error ("too many numbers"), not a word made of numbers.
 */
final class LineParser {
    /** A line that is not {@code word v1 ... vdim}; the caller adds the file and line number. */
    static final class MalformedLine extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedLine(String message) {
            super(message, null, false, false);
        }
    }

    private static final java.lang.invoke.VarHandle LONG_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long LOWS = 0x7f7f7f7f7f7f7f7fL;
    private static final long HIGHS = 0x8080808080808080L;

    private final int dim;
    private final boolean allowNonFinite;
    private final FloatParser parser = new FloatParser();
    private final float[] values;
    /** Where the spaces of the line are, for {@link #parsePlain}. */
    private final int[] spaces;

    LineParser(int dim, boolean allowNonFinite) {
        this.dim = dim;
        this.allowNonFinite = allowNonFinite;
        this.values = new float[dim];
        // dim spaces, the line's end after them, and a slot that parsePlain may write past the last space.
        this.spaces = new int[dim + 2];
    }

    /** The values of the last parsed line. */
    float[] values() {
        return values;
    }

    /** End of the content of the line {@code [start, end)}: without a trailing CR, spaces or tabs. */
    static int trimEnd(byte[] buf, int start, int end) {
        while (end > start && isBlank(at(buf, end - 1))) {
            end--;
        }
        return end;
    }

    private static byte at(byte[] buf, int i) {
        return buf[i];
    }

    private static boolean isBlank(byte c) {
        return c == ' ' || c == '\t' || c == '\r';
    }

    /**
     * Parses {@code seg[start, end)} (already trimmed, not empty) into {@link #values()} and returns the offset where
     * the word ends (the word is {@code seg[start, returned)}).
     */
    int parse(byte[] buf, int start, int end) throws MalformedLine {
        int plain = parsePlain(buf, start, end);
        if (plain >= 0) {
            return plain;
        }
        int wordEnd = start;
        while (wordEnd < end && !isBlank(at(buf, wordEnd))) {
            wordEnd++;
        }
        if (wordEnd == start) {
            throw new MalformedLine("the line starts with a space: expected a word first");
        }
        int n = 0;
        int i = wordEnd;
        while (true) {
            while (i < end && isBlank(at(buf, i))) {
                i++;
            }
            if (i >= end) {
                break;
            }
            if (n == dim) {
                return parseFromEnd(buf, start, end);
            }
            float v;
            try {
                v = parser.parseField(buf, i, end);
            } catch (NumberFormatException e) {
                // Not a number where a value was expected: the first word may have more fields ("new york 1 2"),
                // some of them numbers ("route 66 north"). Read from the end, which also says what is wrong.
                return parseFromEnd(buf, start, end);
            }
            int tokenEnd = parser.end();
            if (!allowNonFinite && !Float.isFinite(v)) {
                return parseFromEnd(buf, start, end); // a field of the word ("a nan b"), or a value to refuse there
            }
            values[n++] = v;
            i = tokenEnd;
        }
        if (n < dim) {
            throw new MalformedLine("expected " + dim + " numbers after the word, found " + n);
        }
        return wordEnd;
    }

    /**
     * The common line, read in two independent steps instead of one field after the other: a word, then {@code dim}
     * plain numbers ({@code [-]digits[.digits]}, at most 7 digits on either side and a mantissa of at most 2^24),
     * each after exactly one space, and no other blank or control byte. First the spaces are found eight bytes at a
     * time, then each number is read from its known bounds; neither step waits on the previous field's end, so the
     * processor works on several numbers at once. Returns where the word ends, or -1 (nothing to trust in
     * {@link #values()}) for any other line, which {@link #parse} then reads field by field. A number it accepts has
     * exactly the value {@link FloatParser#parseField} gives: the same digits, one correctly rounded division; a
     * number of another shape is read by {@link FloatParser#parseField} on its bounds.
     */
    private int parsePlain(byte[] buf, int start, int end) {
        if (end + 2 * Long.BYTES > buf.length) {
            return -1;
        }
        int count = 0;
        int[] at = spaces;
        for (int i = start; i < end; i += Long.BYTES) {
            long w = (long) LONG_LE.get(buf, i);
            // Exact per byte (no carry crosses a byte): bytes below '!' (blanks, controls), and spaces.
            long low = ~(((w & LOWS) + (0x5f * ONES)) | w) & HIGHS;
            long x = w ^ (' ' * ONES);
            long space = ~(((x & LOWS) + LOWS) | x) & HIGHS;
            if (i + Long.BYTES > end) {
                long inside = -1L >>> (8 * (i + Long.BYTES - end));
                low &= inside;
                space &= inside;
            }
            int n = Long.bitCount(space);
            if (low != space || n > dim - count) {
                return -1;
            }
            // Eight bytes of a vector line hold one space, sometimes none or two: both slots are written whatever the
            // count (a loop over the bits would mispredict its exit on most words); a third and more are rare.
            at[count] = i + (Long.numberOfTrailingZeros(space) >>> 3);
            long rest = space & (space - 1);
            at[count + 1] = i + (Long.numberOfTrailingZeros(rest) >>> 3);
            if (n > 2) {
                rest &= rest - 1;
                for (int k = count + 2; rest != 0; k++) {
                    at[k] = i + (Long.numberOfTrailingZeros(rest) >>> 3);
                    rest &= rest - 1;
                }
            }
            count += n;
        }
        if (count != dim || at[0] == start) {
            return -1;
        }
        at[dim] = end;
        float[] out = values;
        for (int k = 0; k < dim; k++) {
            int from = at[k] + 1;
            int to = at[k + 1];
            long bits = plainNumber(buf, from, to);
            if (bits >= 0) {
                out[k] = Float.intBitsToFloat((int) bits);
            } else {
                // Another shape (0.000052968, 1e-05): the field parser, on the known bounds. What it rejects, or
                // reads as NaN or infinite, goes to the field-by-field path, which says what is wrong.
                float v;
                try {
                    v = parser.parseField(buf, from, to);
                } catch (NumberFormatException e) {
                    return -1;
                }
                if (parser.end() != to || !Float.isFinite(v)) {
                    return -1;
                }
                out[k] = v;
            }
        }
        return at[0];
    }

    /**
     * The float bits (as an unsigned int) of the plain number {@code buf[from, to)} ({@code [-]digits[.digits]} as
     * {@link #parsePlain} takes), or -1 for anything else.
     */
    private static long plainNumber(byte[] buf, int from, int to) {
        int negative = (((buf[from] & 0xff) ^ '-') - 1) >>> 31;
        int p = from + negative;
        int length = to - p;
        long w = (long) LONG_LE.get(buf, p);
        int ni = FloatParser.digitRun(w);
        long mantissa;
        int nf;
        if (ni >= length) {
            if (length < 1 || length > 7) {
                return -1;
            }
            mantissa = FloatParser.digits(w, length);
            nf = 0;
        } else {
            nf = length - ni - 1;
            if (ni > 7 || nf > 7 || ni + nf == 0 || ((w >>> (8 * ni)) & 0xff) != '.') {
                return -1;
            }
            long f = ((w >>> 8) >>> (8 * ni)) | ((long) LONG_LE.get(buf, p + Long.BYTES) << (56 - 8 * ni));
            if (FloatParser.digitRun(f) < nf) {
                return -1;
            }
            mantissa = FloatParser.digits(w, ni) * FloatParser.LONG_POW10[nf] + FloatParser.digits(f, nf);
        }
        if (mantissa > 1 << 24) {
            return -1;
        }
        return (Float.floatToRawIntBits(mantissa / FloatParser.POW10[nf]) | negative << 31) & 0xffffffffL;
    }

    private void checkFinite(float v, int n, byte[] buf, int from, int to) throws MalformedLine {
        if (!allowNonFinite && !Float.isFinite(v)) {
            throw new MalformedLine("value " + (n + 1) + " is '" + FloatParser.text(buf, from, to) + "' ("
                    + (Float.isNaN(v) ? "NaN" : "infinite as float32") + "): use --allow-nonfinite to keep such values");
        }
    }

    /** The slow path: the last {@code dim} fields are the vector, everything before them is the word. */
    private int parseFromEnd(byte[] buf, int start, int end) throws MalformedLine {
        int[] tokenStart = new int[dim];
        int[] tokenEnd = new int[dim];
        int i = end;
        for (int k = dim - 1; k >= 0; k--) {
            while (i > start && isBlank(at(buf, i - 1))) {
                i--;
            }
            tokenEnd[k] = i;
            while (i > start && !isBlank(at(buf, i - 1))) {
                i--;
            }
            tokenStart[k] = i;
            if (i == start) {
                throw new MalformedLine("expected a word and " + dim + " numbers, found only " + (dim - k) + " fields");
            }
        }
        int wordEnd = trimEnd(buf, start, i);
        for (int k = 0; k < dim; k++) {
            float v;
            try {
                v = parser.parse(buf, tokenStart[k], tokenEnd[k]);
            } catch (NumberFormatException e) {
                throw new MalformedLine("value " + (k + 1) + " of " + dim + ": " + e.getMessage());
            }
            checkFinite(v, k, buf, tokenStart[k], tokenEnd[k]);
            values[k] = v;
        }
        // A "word" whose fields after the first are all numbers is a row with too many numbers.
        long extra = 0;
        int j = start;
        while (j < wordEnd && !isBlank(at(buf, j))) {
            j++;
        }
        boolean allNumbers = j < wordEnd;
        while (j < wordEnd && allNumbers) {
            while (j < wordEnd && isBlank(at(buf, j))) {
                j++;
            }
            int e = j;
            while (e < wordEnd && !isBlank(at(buf, e))) {
                e++;
            }
            try {
                parser.parse(buf, j, e);
                extra++;
            } catch (NumberFormatException ex) {
                allNumbers = false;
            }
            j = e;
        }
        if (allNumbers) {
            throw new MalformedLine("expected " + dim + " numbers after the word, found " + (dim + extra));
        }
        return wordEnd;
    }

    /**
     * The number of values on a GloVe first line: the count of trailing fields that are numbers (so that a first
     * word containing spaces still works), or 0 when the line has no number.
     */
    static int countTrailingNumbers(byte[] buf, int start, int end) {
        FloatParser parser = new FloatParser();
        int count = 0;
        int fields = 0;
        int i = end;
        while (i > start) {
            while (i > start && isBlank(at(buf, i - 1))) {
                i--;
            }
            int tokenEnd = i;
            while (i > start && !isBlank(at(buf, i - 1))) {
                i--;
            }
            if (tokenEnd == i) {
                break;
            }
            fields++;
            boolean isFirstField = trimEnd(buf, start, i) == start;
            if (isFirstField) {
                break;
            }
            try {
                parser.parse(buf, i, tokenEnd);
                count++;
            } catch (NumberFormatException e) {
                break;
            }
        }
        return fields == 0 ? 0 : count;
    }
}
