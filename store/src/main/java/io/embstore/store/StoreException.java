package io.embstore.store;

import io.embstore.store.io.FileSpace;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The store's own error: a store directory that is missing, malformed, truncated, of an unknown version, locked by
 * another writer, or an I/O failure while reading or writing it. The message always names the path and what was
 * expected; {@link #path()} gives the file or directory concerned and {@link #kind()} what went wrong, so that a caller
 * (the CLI's exit codes, a server's status) decides by kind instead of by message or by probing the file system.
 *
 * <p>Programming errors (an id outside the table, a buffer that is too small) are reported with the JDK's own
 * {@link IndexOutOfBoundsException} and {@link IllegalArgumentException} instead.
 */
public final class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, independent of the message's wording. */
    public enum Kind {
        /**
         * A file is malformed, truncated, of an unknown version, or fails its checksum; or a row is damaged; or the
         * path is not a store at all (a file, a directory without a manifest).
         */
        CORRUPT,
        /** The store directory, or a file it must hold, does not exist. */
        NOT_FOUND,
        /** Another writer holds the store (or the row) that this one needs. */
        LOCKED,
        /** The file system (or the store's own limit) has no room for what was to be written. */
        NO_SPACE,
        /** Any other failure to read or write. */
        IO;

        /**
         * The kind of a failure caused by {@code cause}: the kind of the first {@link StoreException} among it and its
         * causes; {@link #NO_SPACE} when the operating system refused more space; else {@link #IO}.
         */
        public static Kind of(Throwable cause) {
            for (Throwable c = cause; c != null; c = c.getCause() == c ? null : c.getCause()) {
                if (c instanceof StoreException s) {
                    return s.kind;
                }
            }
            return FileSpace.isOutOfSpace(cause) ? NO_SPACE : IO;
        }
    }

    private final Kind kind;
    private final transient Path path;

    /** An error of {@code kind} about {@code path}; the message becomes "path: message". */
    public StoreException(Kind kind, Path path, String message) {
        super(path + ": " + message);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.path = path;
    }

    /** As {@link #StoreException(Kind, Path, String)}, with the cause's message appended in parentheses. */
    public StoreException(Kind kind, Path path, String message, Throwable cause) {
        super(path + ": " + message + (cause == null || cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"), cause);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.path = path;
    }

    /** What went wrong. */
    public Kind kind() {
        return kind;
    }

    /** The file or directory the error is about. */
    public Path path() {
        return path;
    }
}
