package io.embstore.formats;

import static io.embstore.formats.OutputException.Kind.REFUSED;

import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A file the user named for a command to write (an export, a chart), and how it is written, decided by what the path
 * is when the command starts, as {@code cp} and {@code gzip -c} decide:
 * <ul>
 * <li>{@code -} is standard output, written as a stream;</li>
 * <li>an existing file that is neither a regular file nor a directory (a character device such as {@code /dev/null}
 * or {@code /dev/full}, a FIFO) is opened as it is and written as a stream: never replaced, never truncated, no
 * temporary file, no rename, no fsync;</li>
 * <li>a symbolic link is followed, and its final target is dealt with by these rules (a regular target is replaced
 * beside itself and the link stays a link); a link to nothing is refused, as {@code cp} refuses it; a link to an open
 * descriptor ({@code /dev/stdout}, {@code /proc/self/fd/N}) is written through, as a stream;</li>
 * <li>a regular file, or nothing yet, is replaced atomically: written to a {@link TempSibling} beside it, forced and
 * renamed over it, so it is whole or absent.</li>
 * </ul>
 */
public final class OutputTarget {
    /** How the bytes reach the output. */
    public enum Kind { STANDARD_OUTPUT, STREAM, REPLACE }

    private final Path named;
    private final Path file;
    private final Kind kind;

    private OutputTarget(Path named, Path file, Kind kind) {
        this.named = named;
        this.file = file;
        this.kind = kind;
    }

    /**
     * What {@code named} is and how it is to be written. A file to replace must have a writable parent directory.
     *
     * @param what what the file is for the user, in the error for a directory ("a file", "a .png file")
     * @throws OutputException for a directory, a symbolic link to nothing, or a parent that cannot take the file
     */
    public static OutputTarget of(Path named, String what) {
        if (named.toString().equals("-")) {
            return new OutputTarget(named, null, Kind.STANDARD_OUTPUT);
        }
        Path file = named;
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(named, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (attributes.isSymbolicLink()) {
                file = resolveLink(named);
                attributes = Files.readAttributes(file, BasicFileAttributes.class);
                if (attributes.isRegularFile() && throughDescriptor(named)) {
                    // /dev/stdout and the like: the file is another process's open descriptor (a shell's '>'), to be
                    // written through, as cp does, not renamed over.
                    return new OutputTarget(named, named, Kind.STREAM);
                }
            }
        } catch (NoSuchFileException e) {
            attributes = null;
        } catch (IOException e) {
            throw new OutputException(REFUSED, named, named + ": cannot look at the output (" + OutputLocation.reason(e)
                    + ")", e);
        }
        if (attributes != null && attributes.isDirectory()) {
            throw new OutputException(REFUSED, named, named + ": is a directory: expected the name of " + what
                    + " to write");
        }
        if (attributes != null && attributes.isOther()) {
            return new OutputTarget(named, file, Kind.STREAM);
        }
        OutputLocation.checkParent(file);
        return new OutputTarget(named, file, Kind.REPLACE);
    }

    /**
     * The final target of the symbolic link {@code link}; refused when it does not exist. A link to a pipe's or
     * socket's descriptor ({@code /dev/stdout} under {@code |}) has no path to resolve to: it is its own target, and
     * is written through.
     */
    private static Path resolveLink(Path link) throws IOException {
        try {
            return link.toRealPath();
        } catch (NoSuchFileException e) {
            if (throughDescriptor(link) && Files.exists(link)) {
                return link;
            }
            throw new OutputException(REFUSED, link, link + ": is a symbolic link to " + Files.readSymbolicLink(link)
                    + ", which does not exist: give the target's name, or create it first", e);
        }
    }

    /** Whether following {@code link} goes through {@code /proc} (a {@code /proc/PID/fd/N} descriptor link). */
    private static boolean throughDescriptor(Path link) {
        Path p = link.toAbsolutePath();
        for (int hops = 0; hops < 40; hops++) {
            Path parent = p.getParent();
            try {
                if (parent != null && parent.toRealPath().startsWith("/proc")) {
                    return true;
                }
                if (!Files.isSymbolicLink(p)) {
                    return false;
                }
                p = parent.resolve(Files.readSymbolicLink(p)).normalize();
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }

    public Kind kind() {
        return kind;
    }

    /**
     * Whether the output is this process's standard output ({@code -}, or {@code /dev/stdout} and the like): the
     * command's report then goes to standard error, so as not to mix with the data.
     */
    public boolean isStandardOutput() {
        if (kind == Kind.STANDARD_OUTPUT) {
            return true;
        }
        try {
            return kind == Kind.STREAM && Files.isSameFile(file, Path.of("/proc/self/fd/1"));
        } catch (IOException | RuntimeException e) {
            return false; // no /proc: only '-' is known to be standard output
        }
    }

    /** Whether the output is replaced through a temporary file (else it is written as a stream, where it is). */
    public boolean replaced() {
        return kind == Kind.REPLACE;
    }

    /** The file written: the named path, or for a symbolic link its final target; null for standard output. */
    public Path file() {
        return file;
    }

    /** Whether the name given ends with {@code .gz}: the output is gzip-compressed, even on a device or FIFO. */
    public boolean compressed() {
        return kind != Kind.STANDARD_OUTPUT && named.getFileName().toString().endsWith(".gz");
    }

    /** The output as the user knows it, for messages. */
    public String shown() {
        return kind == Kind.STANDARD_OUTPUT ? "standard output" : named.toString();
    }

    @Override
    public String toString() {
        return shown();
    }

    /**
     * Removes what killed runs left beside the file to replace and says so on {@code err}, one line each
     * ({@link StaleTemporaries}). Nothing for a streamed output, which has no temporary files.
     */
    public void sweepStale(PrintWriter err, String command) {
        if (kind == Kind.REPLACE) {
            StaleTemporaries.sweep(file, err, command, StaleTemporaries.Wording.KILLED_RUN);
        }
    }

    /**
     * Opens a streamed output: standard output (left open when the stream is closed), or the existing file as it is
     * ({@code O_WRONLY}: no create, no truncate, which a device or FIFO would not want).
     */
    public OutputStream openStream() throws IOException {
        return switch (kind) {
            case STANDARD_OUTPUT -> {
                System.out.flush();
                yield new FilterOutputStream(new FileOutputStream(FileDescriptor.out)) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void close() throws IOException {
                        flush(); // the descriptor stays open: the JVM and the command's messages still use it
                    }
                };
            }
            // A regular file reached through a descriptor link is truncated, as '>' or cp would; nothing else is.
            case STREAM -> Files.isRegularFile(file)
                    ? Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)
                    : Files.newOutputStream(file, StandardOpenOption.WRITE);
            case REPLACE -> throw new IllegalStateException(file + " is replaced through a temporary file, not streamed");
        };
    }

    /**
     * Creates the temporary sibling of the file to replace, exclusively ({@link TempSibling#createFile}); it is
     * deleted on close unless {@link Temp#install installed}, and by a shutdown hook if the process is interrupted
     * (Ctrl-C, {@code kill}) first.
     */
    public Temp createTemp() throws IOException {
        if (kind != Kind.REPLACE) {
            throw new IllegalStateException(shown() + " is written as a stream, without a temporary file");
        }
        return new Temp(file, TempSibling.createFile(file));
    }

    /** A temporary sibling being written; {@link #install} renames it over its target. */
    public static final class Temp implements AutoCloseable {
        private final Path target;
        private final Path path;
        private final Thread cleanup;
        private volatile boolean installed;

        private Temp(Path target, Path path) {
            this.target = target;
            this.path = path;
            this.cleanup = new Thread(this::delete, "embstore-temp-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
        }

        public Path path() {
            return path;
        }

        /**
         * Forces the temporary file to disk, renames it over the target and forces the directory, so that after a
         * crash the target is either the old file or the new one, whole ({@link DurableFiles#install}).
         */
        public void install() throws IOException {
            DurableFiles.install(path, target);
            installed = true;
        }

        @Override
        public void close() {
            if (!installed) {
                delete();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // The hook runs, or ran, and deletes what is left.
            }
        }

        private void delete() {
            if (installed) {
                return;
            }
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // Best effort: the failure that brought us here is the one to report.
            }
        }
    }
}
