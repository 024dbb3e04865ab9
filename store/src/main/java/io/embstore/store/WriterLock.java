package io.embstore.store;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The one-writer rule: an exclusive OS lock on {@code writer.lock}. The holder writes {@code pid=N} into the file so a
 * second writer can be told who holds it. The OS drops the lock when the holder dies, so a crashed writer never leaves
 * the store locked.
 *
 * <p>A POSIX {@code fcntl} record lock belongs to the process and is dropped when <em>any</em> descriptor of the file
 * closes, so a second writer in the same process that merely opened and closed the file would free the store for
 * other processes. Two things prevent it:
 * <ul>
 *   <li>a registry of the lock files this process holds (by file key, else real path), checked before the file is
 *       opened at all: a second writer here is refused without touching the file;</li>
 *   <li>on Linux (x86_64, aarch64) an open file description lock ({@code F_OFD_SETLK}), which belongs to the one
 *       descriptor and is released only when that descriptor closes, whatever other code does with the file. It
 *       conflicts with {@code fcntl} locks of other processes as well, so older writers are still excluded.
 *       Elsewhere, or where native access is denied, {@link FileChannel#tryLock()} plus the registry is used, and the
 *       reason is logged once.</li>
 * </ul>
 */
final class WriterLock implements AutoCloseable {
    static final String FILE = "writer.lock";

    /** Keys of the lock files held by this process: a file key where the file system has one, else the real path. */
    private static final Set<Object> HELD = new HashSet<>();

    private final Object key;
    /** The OFD-locked descriptor, or -1 when the channel lock is used. */
    private final int fd;
    private final FileChannel channel;
    private final FileLock lock;

    private WriterLock(Object key, int fd, FileChannel channel, FileLock lock) {
        this.key = key;
        this.fd = fd;
        this.channel = channel;
        this.lock = lock;
    }

    static WriterLock acquire(Path dir) {
        Path file = dir.resolve(FILE);
        // One at a time within the process: the registry check and the lock are then one step.
        synchronized (HELD) {
            Object existing = key(file);
            if (existing != null && HELD.contains(existing)) {
                throw inThisProcess(dir);
            }
            WriterLock held = OfdLock.AVAILABLE ? OfdLock.acquire(dir, file) : channelLock(dir, file);
            HELD.add(held.key);
            return held;
        }
    }

    private static StoreException inThisProcess(Path dir) {
        return new StoreException(StoreException.Kind.LOCKED, dir,
                "already open for writing in this process (pid " + ProcessHandle.current().pid()
                + "): a store has one writer; close the other writer first");
    }

    private static StoreException byAnotherProcess(Path dir, Path file) {
        String holder = holder(file);
        if (holder.equals("pid " + ProcessHandle.current().pid())) {
            // Another thread of this process won the race between our key lookup and our lock attempt.
            return inThisProcess(dir);
        }
        return new StoreException(StoreException.Kind.LOCKED, dir,
                "already open for writing by another process (" + holder
                + "): a store has one writer; open it read-only or stop that process");
    }

    /** The registry key of the lock file, or null when it does not exist (so nobody here can hold it). */
    private static Object key(Path file) {
        try {
            Object key = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            return key != null ? key : file.toRealPath();
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, file, "cannot read the writer lock's attributes", e);
        }
    }

    private static byte[] pidLine() {
        return ("pid=" + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The portable lock: {@link FileChannel#tryLock()}, which the registry keeps from being released behind our back. */
    private static WriterLock channelLock(Path dir, Path file) {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                // Held here under another name of the file (a hard link): closing this channel would drop the
                // process's lock, so the channel is left open; this is the rare path the registry cannot see.
                throw inThisProcess(dir);
            }
            if (lock == null) {
                channel.close();
                throw byAnotherProcess(dir, file);
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(pidLine()), 0);
            return new WriterLock(key(file), -1, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new StoreException(StoreException.Kind.IO, file, "cannot take the writer lock", e);
        }
    }

    static String holder(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
            return text.startsWith("pid=") ? "pid " + text.substring(4) : "holder unknown";
        } catch (IOException | RuntimeException e) {
            return "holder unknown";
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Already failing; the original error is the one to report.
            }
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            try {
                if (fd >= 0) {
                    OfdLock.release(fd);
                } else {
                    try {
                        channel.truncate(0);
                        lock.release();
                    } finally {
                        channel.close();
                    }
                }
            } finally {
                HELD.remove(key);
            }
        }
    }

    /**
     * Linux open file description locks through FFM: {@code open(2)} and {@code fcntl(F_OFD_SETLK)} on a
     * {@code struct flock}, whose layout is the same on x86_64 and aarch64.
     *
     * <pre>
     *  0         2          4      8          16         24       28     32
     *  +---------+----------+------+----------+----------+--------+------+
     *  | l_type  | l_whence | pad  | l_start  | l_len    | l_pid  | pad  |
     *  | short   | short    |      | long     | long     | int    |      |
     *  +---------+----------+------+----------+----------+--------+------+
     * </pre>
     */
    static final class OfdLock {
        static final int F_OFD_SETLK = 37;
        static final short F_WRLCK = 1;
        static final short F_UNLCK = 2;
        static final short SEEK_SET = 0;
        static final int O_RDWR = 2;
        static final int O_CREAT = 0100;
        static final int O_CLOEXEC = 02000000;
        static final int EAGAIN = 11;
        static final int EACCES = 13;
        static final int EINVAL = 22;
        /** Bytes of {@code struct flock}. */
        static final long FLOCK_BYTES = 32;
        /** short: F_WRLCK or F_UNLCK. */
        static final long L_TYPE_OFFSET = 0;
        /** short: SEEK_SET, so l_start is from the start of the file. */
        static final long L_WHENCE_OFFSET = 2;
        /** long: 0. */
        static final long L_START_OFFSET = 8;
        /** long: 0, meaning to the end of the file however long it grows. */
        static final long L_LEN_OFFSET = 16;
        /** int: must be 0 for an OFD lock. */
        static final long L_PID_OFFSET = 24;

        private static final System.Logger LOG = System.getLogger(WriterLock.class.getName());
        private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        private static MethodHandle open;
        private static MethodHandle fcntl;
        private static MethodHandle ftruncate;
        private static MethodHandle pwrite;
        private static MethodHandle closeFd;
        /** O_NOFOLLOW differs between the two architectures. */
        private static int oNoFollow;
        static final boolean AVAILABLE = link();

        private OfdLock() {
        }

        private static boolean link() {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "");
            String why;
            if (!os.contains("linux")) {
                why = "not Linux (" + os + ")";
            } else if (!arch.equals("amd64") && !arch.equals("x86_64") && !arch.equals("aarch64")) {
                why = "struct flock and O_NOFOLLOW are not known for " + arch;
            } else if (!WriterLock.class.getModule().isNativeAccessEnabled()) {
                why = "native access is not enabled (run with --enable-native-access=ALL-UNNAMED)";
            } else {
                try {
                    oNoFollow = arch.equals("aarch64") ? 0100000 : 0400000;
                    Linker linker = Linker.nativeLinker();
                    Linker.Option errno = Linker.Option.captureCallState("errno");
                    open = handle(linker, "open", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno, Linker.Option.firstVariadicArg(2));
                    fcntl = handle(linker, "fcntl", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS), errno, Linker.Option.firstVariadicArg(2));
                    ftruncate = handle(linker, "ftruncate", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_LONG), errno);
                    pwrite = handle(linker, "pwrite", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), errno);
                    closeFd = handle(linker, "close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
                    return true;
                } catch (RuntimeException e) {
                    why = "cannot link open/fcntl (" + e + ")";
                }
            }
            LOG.log(System.Logger.Level.INFO, "writer.lock uses FileChannel.tryLock, not an open file description lock: "
                    + why + "; the lock is kept only while no code of this process closes another descriptor of the file");
            return false;
        }

        private static MethodHandle handle(Linker linker, String name, FunctionDescriptor descriptor, Linker.Option... options) {
            MemorySegment symbol = linker.defaultLookup().find(name)
                    .orElseThrow(() -> new IllegalStateException("no symbol " + name));
            return linker.downcallHandle(symbol, descriptor, options);
        }

        static WriterLock acquire(Path dir, Path file) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = arena.allocate(CAPTURE);
                MemorySegment path = arena.allocateFrom(file.toString());
                int fd = (int) open.invokeExact(errno, path, O_RDWR | O_CREAT | O_CLOEXEC | oNoFollow, 0644);
                if (fd < 0) {
                    throw new StoreException(StoreException.Kind.IO, file,
                            "cannot open the writer lock (errno " + errno(errno) + ")");
                }
                try {
                    if ((int) fcntl.invokeExact(errno, fd, F_OFD_SETLK, flock(arena, F_WRLCK)) != 0) {
                        int e = errno(errno);
                        if (e == EAGAIN || e == EACCES) {
                            throw byAnotherProcess(dir, file);
                        }
                        if (e == EINVAL) {
                            throw new NoOfdLocks();
                        }
                        throw new StoreException(StoreException.Kind.IO, file,
                                "cannot take the writer lock (fcntl F_OFD_SETLK, errno " + e + ")");
                    }
                    byte[] pid = pidLine();
                    if ((int) ftruncate.invokeExact(errno, fd, 0L) != 0
                            || (long) pwrite.invokeExact(errno, fd, arena.allocateFrom(ValueLayout.JAVA_BYTE, pid),
                            (long) pid.length, 0L) != pid.length) {
                        throw new StoreException(StoreException.Kind.IO, file,
                                "cannot write the holder's pid (errno " + errno(errno) + ")");
                    }
                    return new WriterLock(key(file), fd, null, null);
                } catch (Throwable t) {
                    // This descriptor's own lock (if it got one) goes with it; nobody else's can.
                    int ignored = (int) closeFd.invokeExact(errno, fd);
                    throw t;
                }
            } catch (StoreException e) {
                throw e;
            } catch (NoOfdLocks e) {
                LOG.log(System.Logger.Level.INFO, "writer.lock uses FileChannel.tryLock: the kernel has no open file"
                        + " description locks (fcntl F_OFD_SETLK gave EINVAL)");
                return channelLock(dir, file);
            } catch (Throwable t) {
                throw new StoreException(StoreException.Kind.IO, file, "cannot take the writer lock", t);
            }
        }

        /** A kernel before 3.15: F_OFD_SETLK is unknown (the descriptor, which locked nothing, is closed by then). */
        private static final class NoOfdLocks extends Exception {
            private static final long serialVersionUID = 1L;

            NoOfdLocks() {
                super(null, null, false, false);
            }
        }

        static void release(int fd) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = arena.allocate(CAPTURE);
                int truncated = (int) ftruncate.invokeExact(errno, fd, 0L);
                int unlocked = (int) fcntl.invokeExact(errno, fd, F_OFD_SETLK, flock(arena, F_UNLCK));
                int closed = (int) closeFd.invokeExact(errno, fd);
                if (truncated != 0 || unlocked != 0 || closed != 0) {
                    throw new IOException("releasing the writer lock failed (errno " + errno(errno) + ")");
                }
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("releasing the writer lock failed", t);
            }
        }

        private static MemorySegment flock(Arena arena, short type) {
            MemorySegment flock = arena.allocate(FLOCK_BYTES, Long.BYTES);
            flock.set(ValueLayout.JAVA_SHORT, L_TYPE_OFFSET, type);
            flock.set(ValueLayout.JAVA_SHORT, L_WHENCE_OFFSET, SEEK_SET);
            flock.set(ValueLayout.JAVA_LONG, L_START_OFFSET, 0);
            flock.set(ValueLayout.JAVA_LONG, L_LEN_OFFSET, 0);
            flock.set(ValueLayout.JAVA_INT, L_PID_OFFSET, 0);
            return flock;
        }

        private static int errno(MemorySegment capture) {
            return (int) ERRNO.get(capture, 0L);
        }
    }
}
