package io.embstore.formats;

import static io.embstore.formats.OutputException.Kind.NOT_FOUND;
import static io.embstore.formats.OutputException.Kind.REFUSED;

import io.embstore.store.EmbeddingStore;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Checks on the path a command is about to write (a new store, an export, a model directory, a chart), made before any
 * work so that a typo costs nothing: the parent directory must already exist (commands never create directory trees
 * the user did not ask for), be a directory, and be writable. Also the words for an {@link IOException}'s cause, whose
 * JDK message is often just a file name.
 */
public final class OutputLocation {
    private OutputLocation() {
    }

    /**
     * Checks that {@code out} could be created: its parent directory exists (else {@link OutputException.Kind#NOT_FOUND})
     * and is a writable directory (else {@link OutputException.Kind#REFUSED}). The messages name {@code out} as the user
     * gave it.
     */
    public static void checkParent(Path out) {
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null) {
            return; // the root directory: it exists, and whatever is asked of it fails with its own message
        }
        if (!Files.exists(parent)) {
            throw new OutputException(NOT_FOUND, out, out + ": the parent directory does not exist");
        }
        String shown = out.getParent() == null ? "." : out.getParent().toString();
        if (!Files.isDirectory(parent)) {
            throw new OutputException(REFUSED, out, out + ": the parent " + shown + " is not a directory");
        }
        // access(2), as the kernel would decide for this process: false for a read-only or immutable directory even
        // for root, who is otherwise never denied.
        if (!Files.isWritable(parent)) {
            throw new OutputException(REFUSED, out, out + ": permission denied: the directory " + shown
                    + " is not writable");
        }
    }

    /**
     * Checks a file {@code export} is about to replace (its parent directory already checked by {@link OutputTarget}):
     * not inside a store, whose files it would replace (a store's {@code matrix.npy} replaced by a text file is a
     * store destroyed). An existing regular file is fine: it is replaced, as documented.
     */
    public static void checkExportFile(Path out) {
        Path dir;
        try {
            dir = out.toAbsolutePath().getParent().toRealPath();
        } catch (IOException e) {
            throw new OutputException(REFUSED, out, out + ": cannot resolve the parent directory (" + reason(e) + ")",
                    e);
        }
        for (Path d = dir; d != null; d = d.getParent()) {
            if (EmbeddingStore.isStore(d)) {
                throw new OutputException(REFUSED, out, out + ": is inside the store " + d
                        + ": writing there would damage the store; choose a path outside any store directory");
            }
        }
    }

    /**
     * What went wrong, in words: the JDK's message of a {@link NoSuchFileException} or {@link AccessDeniedException}
     * is only the file's name (often a temporary one the user never heard of).
     */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * Whether {@code t} or one of its causes is the operating system refusing access: {@link AccessDeniedException}
     * (EACCES), or the EPERM of an immutable file or directory, which the JDK reports as a plain
     * {@link FileSystemException} saying "Operation not permitted".
     */
    public static boolean deniesAccess(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof AccessDeniedException) {
                return true;
            }
            String m = c instanceof FileSystemException f && f.getReason() != null ? f.getReason() : c.getMessage();
            if (m != null && (m.contains("Permission denied") || m.contains("Operation not permitted"))) {
                return true;
            }
        }
        return false;
    }
}
