package io.embstore.store.io;

import io.embstore.store.StoreException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Disk blocks reserved for a region of a file before the region is written through a mapping.
 *
 * <p>A store's files grow by mapping past their end, which makes them sparse: the blocks are allocated only when a
 * page is first written. On a full file system that first write cannot get a block, and a write through a mapping
 * cannot return an error: the process gets SIGBUS, which the JVM turns into an {@link InternalError} ("a fault
 * occurred in an unsafe memory access operation") wherever the write happened. Reserving the blocks first
 * ({@code posix_fallocate}) moves the failure to this call, as a {@link StoreException} that says how many bytes were
 * missing. A region larger than the file system's free space is refused before anything is allocated, so a
 * hopeless size does not first fill the disk (posix_fallocate allocates until the disk is full before it fails).
 *
 * <p>Where {@code posix_fallocate} is unavailable (not Linux, native access not granted, a file system without it)
 * the region is written with zeros instead, which allocates the blocks too, only more slowly. Callers reserve only
 * regions that hold no data yet (new growth), so writing zeros there loses nothing.
 *
 * <p>For the project's own modules (the trainer's state files); not a stable API.
 */
public final class FileSpace {
    /** Linux's errno values (the same on x86-64 and AArch64). */
    private static final int EINTR = 4;
    private static final int EFBIG = 27;
    private static final int ENOSPC = 28;
    private static final int EOPNOTSUPP = 95;
    private static final int EDQUOT = 122;
    private static final int O_WRONLY = 1;
    private static final int O_CLOEXEC = 0x80000;
    private static final int ZERO_CHUNK = 1 << 20;
    /**
     * Regions smaller than this are reserved by writing zeros: linking the first downcalls costs a cold JVM more than
     * a small store takes to build, where a few MB of zeros cost milliseconds and are overwritten in the page cache
     * before they reach the disk (benchmarks/results/conversion.md, "Reserving disk blocks").
     */
    private static final long SMALL_REGION = 8 << 20;
    private static final System.Logger LOG = System.getLogger(FileSpace.class.getName());

    private FileSpace() {
    }

    /**
     * Reserves the blocks of {@code file}'s bytes {@code [from, to)}, extending the file to {@code to} if it is shorter.
     * The region must hold no data yet: where the system cannot reserve blocks (and for regions under 8 MiB), zeros
     * are written there. A region larger than the space this process may use is refused at once, even if some of it
     * was reserved before: reserve new growth only.
     *
     * @throws StoreException naming {@code file}: "no space left on device" (with the bytes missing), "file too large",
     *                        or another I/O error
     */
    public static void reserve(Path file, long from, long to) {
        reserve(file, from, to, file, file);
    }

    /**
     * As {@link #reserve(Path, long, long)}, with errors about {@code reportAs} (a store being built, whose files live
     * in a temporary directory the user never named) and the file shown as {@code shownAs}.
     */
    public static void reserve(Path file, long from, long to, Path reportAs, Path shownAs) {
        if (from < 0 || to <= from) {
            return;
        }
        long length = to - from;
        // The region may lie inside the file (a mapping made it longer, sparse) and still need every block: it is
        // compared whole with the space this process may use. posix_fallocate would allocate block after block
        // until the disk is full before it gives up, which the other users of the disk would feel.
        long usable = file.toFile().getUsableSpace();
        if (length > usable && Files.exists(file)) {
            throw noSpace(reportAs, shownAs, length, ENOSPC);
        }
        int rc;
        if (length < SMALL_REGION) {
            rc = writeZeros(file, from, to, reportAs, shownAs);
        } else {
            rc = Native.AVAILABLE ? Native.fallocate(file, from, length) : EOPNOTSUPP;
            if (rc == EOPNOTSUPP) {
                Native.hintOnce(file);
                rc = writeZeros(file, from, to, reportAs, shownAs);
            }
        }
        if (rc != 0) {
            throw rc == ENOSPC || rc == EDQUOT || rc == EFBIG ? noSpace(reportAs, shownAs, rc == EFBIG ? to : length, rc)
                    : new StoreException(StoreException.Kind.IO, reportAs,
                            "cannot reserve " + length + " bytes for " + shownAs + " (error "
                    + rc + ")");
        }
    }

    /**
     * Whether {@code e} is, or was caused by, the operating system's refusal to give a file more space (no space left,
     * quota exceeded, file too large): an error of the environment, not of the input.
     */
    public static boolean isOutOfSpace(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof FileSystemException f && f.getReason() != null
                    && (f.getReason().startsWith("No space left") || f.getReason().startsWith("File too large")
                    || f.getReason().startsWith("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The error for a failure to make {@code shownAs} {@code bytes} long (a mapping past its end): "file too large" or
     * "no space left" when the system said so, else the I/O error as it is; about {@code reportAs}.
     */
    public static StoreException extendFailed(Path reportAs, Path shownAs, long bytes, IOException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (m.contains("File too large")) {
            return noSpace(reportAs, shownAs, bytes, EFBIG);
        }
        if (m.contains("No space left") || m.contains("Disk quota exceeded")) {
            return noSpace(reportAs, shownAs, bytes, m.contains("quota") ? EDQUOT : ENOSPC);
        }
        return new StoreException(StoreException.Kind.IO, reportAs,
                "cannot extend " + shownAs + " to " + bytes + " bytes", e);
    }

    /** {@code bytes}: the bytes missing, or for EFBIG the size the file would have had. */
    private static StoreException noSpace(Path reportAs, Path shownAs, long bytes, int errno) {
        String message;
        String reason;
        if (errno == EFBIG) {
            reason = "File too large";
            message = "file too large: " + shownAs + " would be " + size(bytes) + ", larger than the file system (or the"
                    + " process's file size limit, ulimit -f) allows";
        } else {
            reason = errno == EDQUOT ? "Disk quota exceeded" : "No space left on device";
            long usable = usableSpace(reportAs, shownAs);
            message = "no space left on device" + (errno == EDQUOT ? " (disk quota exceeded)" : "") + ": " + shownAs
                    + " needs " + size(bytes) + " more, " + size(usable) + " free: free some space or choose another"
                    + " file system";
        }
        StoreException e = new StoreException(StoreException.Kind.NO_SPACE, reportAs, message);
        e.initCause(new FileSystemException(shownAs.toString(), null, reason));
        return e;
    }

    /** {@code 40000000 bytes (40 MB)}: the exact count, and a size a person reads at a glance. */
    public static String size(long bytes) {
        if (bytes < 10_000) {
            return bytes + " bytes";
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB", "EB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return bytes + " bytes (" + (v < 10 ? String.format(Locale.ROOT, "%.1f", v) : String.valueOf(Math.round(v)))
                + " " + units[u] + ")";
    }

    private static long usableSpace(Path reportAs, Path shownAs) {
        for (Path p = shownAs.toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                return p.toFile().getUsableSpace();
            }
        }
        return reportAs.toFile().getUsableSpace();
    }

    /** The fallback: zeros over the region, which allocates its blocks. Returns 0 or ENOSPC; other errors throw. */
    private static int writeZeros(Path file, long from, long to, Path reportAs, Path shownAs) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(ZERO_CHUNK, to - from));
            for (long at = from; at < to; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), to - at));
                at += ch.write(zeros, at);
            }
            return 0;
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("No space left")) {
                return ENOSPC;
            }
            if (m.contains("File too large")) {
                return EFBIG;
            }
            if (m.contains("Disk quota exceeded")) {
                return EDQUOT;
            }
            throw new StoreException(StoreException.Kind.IO, reportAs,
                    "cannot reserve " + (to - from) + " bytes for " + shownAs, e);
        }
    }

    /** {@code open}, {@code posix_fallocate} and {@code close} from the C library, when reachable. */
    private static final class Native {
        static final MethodHandle OPEN;
        static final MethodHandle FALLOCATE;
        static final MethodHandle CLOSE;
        static final boolean AVAILABLE;
        private static boolean hinted;

        static {
            MethodHandle open = null;
            MethodHandle fallocate = null;
            MethodHandle close = null;
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            // Without native access the first downcall would print the JVM's restricted-method warning instead.
            if (os.contains("linux") && FileSpace.class.getModule().isNativeAccessEnabled()) {
                try {
                    Linker linker = Linker.nativeLinker();
                    SymbolLookup libc = linker.defaultLookup();
                    open = linker.downcallHandle(libc.find("open").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                    fallocate = linker.downcallHandle(libc.find("posix_fallocate").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                                    ValueLayout.JAVA_LONG));
                    close = linker.downcallHandle(libc.find("close").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "posix_fallocate unavailable: " + e);
                    open = null;
                }
            }
            OPEN = open;
            FALLOCATE = fallocate;
            CLOSE = close;
            AVAILABLE = open != null;
        }

        /**
         * posix_fallocate on a descriptor of its own; returns 0 or an errno. EOPNOTSUPP also stands for "the file could
         * not be opened here": the zeros written instead then report that error as the JDK words it.
         */
        static int fallocate(Path file, long offset, long length) {
            try (Arena arena = Arena.ofConfined()) {
                int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toString()), O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                    return EOPNOTSUPP;
                }
                try {
                    int rc;
                    do {
                        // posix_fallocate returns the error number; it does not set errno.
                        rc = (int) FALLOCATE.invokeExact(fd, offset, length);
                    } while (rc == EINTR);
                    return rc;
                } finally {
                    // The file's descriptor is our own; closing it drops no lock (the writer lock is another file).
                    int ignored = (int) CLOSE.invokeExact(fd);
                }
            } catch (Throwable t) {
                if (t instanceof Error e) {
                    throw e;
                }
                LOG.log(System.Logger.Level.DEBUG, "posix_fallocate failed: " + t);
                return EOPNOTSUPP;
            }
        }

        static synchronized void hintOnce(Path file) {
            if (!hinted) {
                hinted = true;
                LOG.log(System.Logger.Level.INFO, "posix_fallocate unavailable for " + file + " (not Linux, native"
                        + " access not granted, or not supported by the file system): space for new regions is"
                        + " reserved by writing zeros; run with --enable-native-access=ALL-UNNAMED on Linux to avoid it");
            }
        }
    }
}
