package io.embstore.formats;

import java.nio.file.Path;

/**
 * A malformed input file: names the file, where (a line, or a byte offset in binary input) and what was expected.
 * The CLI prints its message as it is and exits with {@code EXIT_BAD_INPUT}; nothing is left behind. The message may
 * quote the input (a value that is not a number), which may be binary garbage: it is made {@link PrintableText
 * printable} and cut to a sane length here, so no reader has to remember to.
 */
public final class InputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String where;

    public InputException(Path file, String where, String message) {
        super(PrintableText.escape(String.valueOf(file)) + (where == null ? "" : ": " + where) + ": "
                + PrintableText.line(message));
        this.file = file;
        this.where = where;
    }

    public static InputException atLine(Path file, long line, String message) {
        return new InputException(file, "line " + line, message);
    }

    static InputException atOffset(Path file, long offset, String message) {
        return new InputException(file, "byte offset " + offset, message);
    }

    public Path file() {
        return file;
    }

    String where() {
        return where;
    }
}
