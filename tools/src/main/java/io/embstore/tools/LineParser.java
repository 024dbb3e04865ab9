package io.embstore.tools;

/**
 * Splits one text line of a vector file into its word and its {@code dim} values.
 *
 * <p>The last {@code dim} fields are the vector and the rest is the word, so tokens that contain spaces (GloVe 840B
 * has them) survive. The common line, a one-field word, takes a single forward pass; only a line whose second field
 * is not a number, or that has more than {@code dim} numbers, is re-read from its end. Fields are separated by
 * spaces; tabs and a trailing carriage return or spaces are tolerated. A line with more numbers than {@code dim}
 * whose extra fields are all numbers is an error ("too many numbers"), not a word made of numbers.
 */
final class LineParser {
    /** A line that is not {@code word v1 ... vdim}; the caller adds the file and line number. */
    static final class MalformedLine extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedLine(String message) {
            super(message, null, false, false);
        }
    }

    private final int dim;
    private final boolean allowNonFinite;
    private final FloatParser parser = new FloatParser();
    private final float[] values;

    LineParser(int dim, boolean allowNonFinite) {
        this.dim = dim;
        this.allowNonFinite = allowNonFinite;
        this.values = new float[dim];
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
                if (n == 0) {
                    return parseFromEnd(buf, start, end);
                }
                throw new MalformedLine("value " + (n + 1) + " of " + dim + ": " + e.getMessage());
            }
            int tokenEnd = parser.end();
            checkFinite(v, n, buf, i, tokenEnd);
            values[n++] = v;
            i = tokenEnd;
        }
        if (n < dim) {
            throw new MalformedLine("expected " + dim + " numbers after the word, found " + n);
        }
        return wordEnd;
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
