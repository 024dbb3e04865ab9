package io.embstore.formats;

import java.nio.file.Path;

/**
 * An output file that cannot be written where the user named it: its parent directory is missing or is not a writable
 * directory, the name is a directory or a symbolic link to nothing, or it lies inside a store. Found before any work,
 * so nothing is left behind. The message names the output as the user gave it and says what to do.
 */
public final class OutputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What is wrong with the output. */
    public enum Kind {
        /** The directory the output goes in does not exist. */
        NOT_FOUND,
        /** The output cannot be written there (not a directory, not writable, a directory, inside a store, ...). */
        REFUSED
    }

    private final Kind kind;
    private final transient Path output;

    /**
     * @param kind   what is wrong
     * @param output the output as the user named it
     * @param message the whole message, naming {@code output}
     */
    public OutputException(Kind kind, Path output, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.output = output;
    }

    public OutputException(Kind kind, Path output, String message) {
        this(kind, output, message, null);
    }

    public Kind kind() {
        return kind;
    }

    /** The output as the user named it. */
    public Path output() {
        return output;
    }
}
