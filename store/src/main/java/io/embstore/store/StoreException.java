package io.embstore.store;

import java.nio.file.Path;

/**
 * The store's own error: a store directory that is missing, malformed, truncated, of an unknown version, locked by
 * another writer, or an I/O failure while reading or writing it. The message always names the path and what was
 * expected; {@link #path()} gives the file or directory concerned.
 *
 * <p>Programming errors (an id outside the table, a buffer that is too small) are reported with the JDK's own
 * {@link IndexOutOfBoundsException} and {@link IllegalArgumentException} instead.
 */
public final class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    StoreException(Path path, String message) {
        super(path + ": " + message);
        this.path = path;
    }

    StoreException(Path path, String message, Throwable cause) {
        super(path + ": " + message + (cause == null || cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"), cause);
        this.path = path;
    }

    /** The file or directory the error is about. */
    public Path path() {
        return path;
    }
}
