package io.embstore.store.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The hidden temporary sibling in which an output is built before it is renamed over its target:
 * {@code .NAME.tmp-PID-RANDOM} beside {@code NAME}, for a store directory, an exported file, a model or a chart.
 *
 * <p>Three rules, each against a way of losing data: the name has a random part nobody can predict, so nobody can plant
 * a symlink under it in advance; it is created exclusively ({@code O_EXCL}, never through a symlink), so an existing
 * file of that name is refused rather than written through; and it carries the creating process's id, so a later run
 * can remove what a killed process left behind ({@link #sweepStale}) without touching the temporaries of a process that
 * is still running.
 */
public final class TempSibling {
    private static final String MARK = ".tmp-";
    /** The random part of a name: 8 bytes in hex. */
    private static final int RANDOM_HEX_DIGITS = 16;

    private TempSibling() {
    }

    /** A fresh, not yet existing, unpredictable temporary name beside {@code target} (absolute). */
    public static Path name(Path target) {
        Path absolute = target.toAbsolutePath();
        byte[] random = new byte[RANDOM_HEX_DIGITS / 2];
        Random.INSTANCE.nextBytes(random);
        return absolute.resolveSibling(prefix(absolute) + ProcessHandle.current().pid() + "-"
                + HexFormat.of().formatHex(random));
    }

    /**
     * Creates an empty temporary file beside {@code target}, exclusively and without following a symlink.
     *
     * @throws java.nio.file.FileAlreadyExistsException if something (a file, a symlink) already has the name
     */
    public static Path createFile(Path target) throws IOException {
        Path temp = name(target);
        try (FileChannel ignored = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            return temp;
        }
    }

    /**
     * Creates a temporary directory beside {@code target}; {@code mkdir} is exclusive and does not follow a symlink.
     *
     * @throws java.nio.file.FileAlreadyExistsException if something already has the name
     */
    public static Path createDirectory(Path target) throws IOException {
        return Files.createDirectory(name(target));
    }

    /** Whether {@code file}'s name is a temporary sibling of {@code target}'s name, by any process. */
    public static boolean isTempOf(Path file, Path target) {
        return pidOf(file.getFileName().toString(), prefix(target.toAbsolutePath())) > 0;
    }

    /**
     * Removes, from {@code target}'s directory, the temporaries whose process is no longer running (left by a process
     * that was killed), files and directories alike; symlinks are removed, never followed. Those of {@code target}
     * itself are recognised by name ({@code .NAME.tmp-PID-...}, older forms included); those of other outputs in the
     * same directory only in the exact form this class makes ({@code .NAME.tmp-PID-} and 16 hex digits), so that no
     * file of another program is taken for one. Returns what was removed.
     */
    public static List<Path> sweepStale(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path parent = absolute.getParent();
        String prefix = prefix(absolute);
        List<Path> removed = new ArrayList<>();
        if (parent == null || !Files.isDirectory(parent)) {
            return removed;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, ".*" + MARK + "*")) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                long pid = name.startsWith(prefix) ? pidOf(name, prefix) : pidOfAnyOutput(name);
                if (pid > 0 && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    deleteTree(entry);
                    removed.add(entry);
                }
            }
        }
        return removed;
    }

    private static String prefix(Path absolute) {
        return "." + absolute.getFileName() + MARK;
    }

    /** The pid in {@code name} when it is {@code prefix + PID + "-" + HEX}; 0 otherwise. */
    private static long pidOf(String name, String prefix) {
        if (!name.startsWith(prefix)) {
            return 0;
        }
        String rest = name.substring(prefix.length());
        int dash = rest.indexOf('-');
        if (dash <= 0 || dash == rest.length() - 1) {
            return 0;
        }
        for (int i = dash + 1; i < rest.length(); i++) {
            if (Character.digit(rest.charAt(i), 16) < 0) {
                return 0;
            }
        }
        try {
            return Long.parseLong(rest, 0, dash, 10);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The pid in {@code name} when it is exactly what {@link #name} makes for some output; 0 otherwise. */
    private static long pidOfAnyOutput(String name) {
        int mark = name.lastIndexOf(MARK);
        if (mark < 2) { // "." and at least one character of the output's name
            return 0;
        }
        String prefix = name.substring(0, mark + MARK.length());
        String rest = name.substring(prefix.length());
        int dash = rest.indexOf('-');
        return dash > 0 && rest.length() - dash - 1 == RANDOM_HEX_DIGITS ? pidOf(name, prefix) : 0;
    }

    /** Deletes {@code root} and, for a directory, everything under it, without following symlinks. */
    public static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Created on first use: seeding costs a read of the kernel's entropy that most runs never need. */
    private static final class Random {
        static final SecureRandom INSTANCE = new SecureRandom();
    }
}
