package io.embstore.store.io;

import io.embstore.store.StoreException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Mapping files into an {@link Arena} the caller owns (and alone closes), with the checks that keep a mapped access
 * from faulting: a file is never mapped past its end (a read there is a SIGBUS), and it only grows while mapped
 * (truncating a mapped file is a SIGBUS too).
 */
public final class MappedFile {
    private MappedFile() {
    }

    /** The size of {@code file}; a missing file is {@link StoreException.Kind#NOT_FOUND}. */
    public static long size(Path file) {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, file, "missing file");
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, file, "cannot read the file's size", e);
        }
    }

    /**
     * Maps {@code mapBytes} of {@code file} after checking that it holds at least {@code minBytes}: mapping past the
     * end of a file and reading there is a SIGBUS, so the check comes first.
     */
    public static MemorySegment map(Arena arena, Path file, long minBytes, long mapBytes, boolean writable) {
        long size = size(file);
        if (size < minBytes) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "truncated: " + size + " bytes, expected at least " + minBytes);
        }
        if (mapBytes > size) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "truncated: " + size + " bytes, expected " + mapBytes);
        }
        try (FileChannel ch = writable
                ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY, 0, mapBytes, arena);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, file,
                    "cannot map " + mapBytes + " bytes (check free address space: ulimit -v,"
                    + " and the map count: sysctl vm.max_map_count)", e);
        }
    }

    /** Maps {@code bytes} of a file for writing, extending the file if it is shorter (growth only, never truncation). */
    public static MemorySegment mapGrowing(Arena arena, Path file, long bytes) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.of(e), file,
                    "cannot extend and map to " + bytes + " bytes", e);
        }
    }

    /** Creates {@code file} (exclusively, never through a symlink) with {@code bytes} zero bytes, sparse, mapped for writing. */
    public static MemorySegment createMapped(Arena arena, Path file, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        }
    }
}
