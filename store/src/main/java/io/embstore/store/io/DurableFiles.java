package io.embstore.store.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Durable atomic replacement of files, the one implementation of the sequence every writer of a small file follows:
 * a {@link TempSibling} (exclusive, never through a symlink, unpredictable name), written, forced, renamed over the
 * target, and the parent directory forced so that the rename itself survives a power loss. A reader sees the old file
 * or the new one, never a mix; a crash leaves at most a temporary, which the next write into the directory sweeps.
 */
public final class DurableFiles {
    private DurableFiles() {
    }

    /** Replaces {@code file} with {@code text} in UTF-8; see {@link #replace(Path, byte[])}. */
    public static void replace(Path file, String text) throws IOException {
        replace(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces (or creates) {@code file} with {@code bytes}, atomically and durably; nothing is left on failure. */
    public static void replace(Path file, byte[] bytes) throws IOException {
        replace(file, bytes, Forcing.SYSTEM);
    }

    /** As {@link #replace(Path, byte[])}, with both its forces (file, directory) made through {@code forcing}. */
    public static void replace(Path file, byte[] bytes, Forcing forcing) throws IOException {
        TempSibling.sweepStale(file);
        Path tmp = TempSibling.createFile(file);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                forcing.force(tmp, ch);
            }
            moveIntoPlace(tmp, file, forcing);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Forces the written temporary file {@code temp} (a sibling of {@code target}, never followed through a symlink),
     * renames it over {@code target} atomically and forces the parent directory: for a writer that fills the temporary
     * itself, as a stream or through its own channels, and leaves the rest of the sequence here. The caller deletes the
     * temporary when this fails.
     */
    public static void install(Path temp, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            ch.force(true);
        }
        moveIntoPlace(temp, target);
    }

    /**
     * Renames the finished (and already forced) temporary {@code temp} over {@code target} atomically, then forces the
     * parent directory. The temporary must be a sibling of the target.
     */
    public static void moveIntoPlace(Path temp, Path target) throws IOException {
        moveIntoPlace(temp, target, Forcing.SYSTEM);
    }

    private static void moveIntoPlace(Path temp, Path target, Forcing forcing) throws IOException {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        forcing.forceDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Renames the finished (and already forced) temporary directory {@code temp} to {@code target} atomically, then
     * forces the parent directory. A non-empty directory at {@code target} is never replaced (rename(2) refuses it).
     *
     * @throws java.nio.file.FileSystemException ("Directory not empty") when a directory has the name already
     *     (another process published it meanwhile)
     * @throws java.nio.file.AtomicMoveNotSupportedException when the file system cannot rename atomically
     */
    public static void publishDirectory(Path temp, Path target) throws IOException {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * The two forces of a {@link #replace}: of the written temporary, and of the directory after the rename. The
     * trainer passes its own, which records them to compute what a power cut would leave on the disk (its
     * PowerLossTest); {@link #SYSTEM} just forces.
     */
    public interface Forcing {
        /** Forces {@code file}'s bytes and metadata, written through {@code channel}, to the device (fsync). */
        void force(Path file, FileChannel channel) throws IOException;

        /** Forces {@code dir}'s entries to the device, as {@link DurableFiles#forceDirectory} does. */
        void forceDirectory(Path dir) throws IOException;

        /** Forces, and nothing else. */
        Forcing SYSTEM = new Forcing() {
            @Override
            public void force(Path file, FileChannel channel) throws IOException {
                channel.force(true);
            }

            @Override
            public void forceDirectory(Path dir) throws IOException {
                DurableFiles.forceDirectory(dir);
            }
        };
    }

    /** Forces {@code dir}'s entries (a creation, a rename, a deletion in it) to the device. */
    public static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
