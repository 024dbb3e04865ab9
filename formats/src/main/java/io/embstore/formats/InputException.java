package io.embstore.formats;

import java.nio.file.Path;

/**
 * A malformed input file: names the file, where (a line, or a byte offset in binary input) and what was expected.
 * Nothing is left behind. The message may quote the input (a value that is not a number), which may be binary
 * garbage: it is made {@link PrintableText printable} and cut to a sane length here, so no reader has to remember to.
 */
public final class InputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String where;
    private final long line;
    private final long offset;

    /**
     * @param file    the input file
     * @param where   where in it, in words ("row 12"), or null for the file as a whole
     * @param message what is wrong and what was expected
     */
    public InputException(Path file, String where, String message) {
        this(file, where, -1, -1, message);
    }

    private InputException(Path file, String where, long line, long offset, String message) {
        super(PrintableText.escape(String.valueOf(file)) + (where == null ? "" : ": " + where) + ": "
                + PrintableText.line(message));
        this.file = file;
        this.where = where;
        this.line = line;
        this.offset = offset;
    }

    /** A mistake on line {@code line} (1-based) of a text file. */
    public static InputException atLine(Path file, long line, String message) {
        return new InputException(file, "line " + line, line, -1, message);
    }

    /** A mistake at byte {@code offset} of a binary file. */
    public static InputException atOffset(Path file, long offset, String message) {
        return new InputException(file, "byte offset " + offset, -1, offset, message);
    }

    /** The same place in the same file, with another message. */
    InputException withMessage(String message) {
        return new InputException(file, where, line, offset, message);
    }

    /** The input file. */
    public Path file() {
        return file;
    }

    /** Where in the file, in words ("line 3", "byte offset 120", "row 12"), or null for the file as a whole. */
    public String where() {
        return where;
    }

    /** The 1-based line of a text file, or -1 when the mistake is not at a line. */
    public long line() {
        return line;
    }

    /** The byte offset in a binary file, or -1 when the mistake is not at an offset. */
    public long offset() {
        return offset;
    }
}
