package io.embstore.store.io;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code madvise(2)} on mapped files: the one place embstore calls it (the store's readers and writers, the
 * trainer's state files). One object per owner of mappings (a store, an optimizer state): it logs the first refused
 * advice once, naming the file and the errno, and the mapping keeps the kernel's default read-ahead.
 *
 * <p>Why advice matters: the kernel reads ahead around every page fault on a file mapping (up to the device's
 * read-ahead, 8 MiB on the machine of issue 16), which is right for a mapping read front to back and ruinous for one
 * read at random rows larger than memory: each 512-byte row fault read megabytes and evicted rows still wanted
 * (2,000 rows/s; 13,600 rows/s with {@code MADV_RANDOM}, issue 16 and benchmarks/results/larger-than-memory.md).
 * <ul>
 *   <li>{@link #random}: {@code MADV_RANDOM}, a fault reads only its page: row reads, gathers, training steps;</li>
 *   <li>{@link #sequential}: {@code MADV_SEQUENTIAL}, aggressive read-ahead, pages behind dropped early: a mapping
 *       written or read front to back once (a store being built);</li>
 *   <li>{@link #willNeed}: {@code MADV_WILLNEED} on a range, which starts its reads in the background whatever the
 *       mapping's advice (it is not refused by {@code MADV_RANDOM}): a scan ahead of its position, a gather ahead of its
 *       copies, so many reads are in flight instead of one fault at a time.</li>
 * </ul>
 * Where madvise cannot be called (not Linux, native access denied) or {@value #DISABLE_PROPERTY} is {@code false},
 * every method does nothing, which is logged once per JVM.
 */
public final class MappingAdvice {
    private static final Logger LOG = Logger.getLogger(MappingAdvice.class.getName());
    /**
     * {@code -Dembstore.advice=false} gives no advice at all (the kernel's default read-ahead everywhere): the
     * baseline of benchmarks/larger-than-memory/run, and a way out should some workload do better without.
     */
    public static final String DISABLE_PROPERTY = "embstore.advice";
    /** Linux's values (asm-generic/mman-common.h), the same on every architecture the JDK runs on. */
    static final int MADV_NORMAL = 0;
    static final int MADV_RANDOM = 1;
    static final int MADV_SEQUENTIAL = 2;
    static final int MADV_WILLNEED = 3;
    /**
     * The most asked of {@code MADV_WILLNEED} in one call: 128 KiB, the smallest read-ahead a Linux device has by
     * default, so that no part of a range is dropped whatever the device (see {@link #willNeed}).
     */
    static final long WILLNEED_PIECE = 128L << 10;
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle MADVISE;
    private static final long PAGE;
    /** Per thread: where the call leaves errno. Reused, so advising allocates nothing after a thread's first call. */
    private static final ThreadLocal<MemorySegment> ERRNO_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    static {
        MethodHandle madvise = null;
        long page = 4096;
        if ("false".equals(System.getProperty(DISABLE_PROPERTY))) {
            LOG.info("-D" + DISABLE_PROPERTY + "=false: mappings keep the kernel's default advice");
        } else if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                madvise = linker.defaultLookup().find("madvise").map(f -> linker.downcallHandle(f,
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT),
                        Linker.Option.captureCallState("errno"))).orElse(null);
                MethodHandle getpagesize = linker.defaultLookup().find("getpagesize").map(f ->
                        linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT))).orElse(null);
                if (getpagesize != null) {
                    page = (int) getpagesize.invokeExact();
                }
            } catch (Throwable e) {
                madvise = null;
                LOG.info("madvise unavailable (" + e + "): mapped files are read with the kernel's default"
                        + " read-ahead, which a table larger than memory pays for at every row;"
                        + " run java with --enable-native-access=ALL-UNNAMED to allow it");
            }
        }
        MADVISE = madvise;
        PAGE = page;
    }

    private final String owner;
    private final AtomicBoolean logged = new AtomicBoolean();

    /** @param owner what the mappings belong to (a store directory), named in the log line of a refusal */
    public MappingAdvice(Path owner) {
        this.owner = owner.toString();
    }

    /** Whether advice can be given at all here (Linux, native access allowed). */
    public static boolean available() {
        return MADVISE != null;
    }

    /** The system's page size: advice covers whole pages. */
    public static long pageSize() {
        return PAGE;
    }

    /** {@code MADV_RANDOM} on the whole of {@code mapping} (of {@code file}): a fault reads its page alone. */
    public void random(MemorySegment mapping, Path file) {
        advise(mapping, 0, mapping.byteSize(), MADV_RANDOM, file);
    }

    /** {@code MADV_SEQUENTIAL} on the whole of {@code mapping} (of {@code file}): read ahead far, drop pages behind. */
    public void sequential(MemorySegment mapping, Path file) {
        advise(mapping, 0, mapping.byteSize(), MADV_SEQUENTIAL, file);
    }

    /**
     * {@code MADV_WILLNEED} on the pages holding {@code mapping[offset, offset + length)} (of {@code file}): their reads
     * start now, in the background. A system call (several microseconds here even when every page is resident, see
     * benchmarks/results/larger-than-memory.md): callers use it only where pages are likely missing. Long ranges are
     * asked for in pieces of {@link #WILLNEED_PIECE}: Linux reads at most the device's read-ahead (or its largest I/O)
     * of one call and silently drops the rest (an 8 MiB read-ahead here: 64 MiB asked, 8 MiB read).
     */
    public void willNeed(MemorySegment mapping, long offset, long length, Path file) {
        long end = Math.min(offset + length, mapping.byteSize());
        for (long at = offset; at < end; at += WILLNEED_PIECE) {
            if (!advise(mapping, at, Math.min(WILLNEED_PIECE, end - at), MADV_WILLNEED, file)) {
                return;
            }
        }
    }

    /**
     * Gives {@code advice} for the pages holding {@code mapping[offset, offset + length)}; returns whether the kernel
     * took it. {@code mapping} must start on a page boundary, as a whole mapping does. Package-private so that a test
     * can pass a value the kernel refuses.
     */
    boolean advise(MemorySegment mapping, long offset, long length, int advice, Path file) {
        if (MADVISE == null || length <= 0) {
            return false;
        }
        long address = mapping.address() + offset;
        long start = address & -PAGE;
        MemorySegment state = ERRNO_STATE.get();
        int rc;
        try {
            rc = (int) MADVISE.invokeExact(state, MemorySegment.ofAddress(start), length + (address - start), advice);
        } catch (Throwable t) {
            refused(advice, file, t.toString());
            return false;
        }
        if (rc != 0) {
            int errno = (int) ERRNO.get(state, 0L);
            refused(advice, file, "errno " + errno + (errno == 22 ? ", EINVAL" : errno == 12 ? ", ENOMEM" : ""));
            return false;
        }
        return true;
    }

    private void refused(int advice, Path file, String why) {
        if (logged.compareAndSet(false, true)) {
            LOG.warning("madvise(" + name(advice) + ") refused for " + file + " (" + why + "): its mappings keep the"
                    + " kernel's default read-ahead, so reads of a table larger than memory will be slower; logged once"
                    + " for " + owner);
        }
    }

    static String name(int advice) {
        return switch (advice) {
            case MADV_NORMAL -> "MADV_NORMAL";
            case MADV_RANDOM -> "MADV_RANDOM";
            case MADV_SEQUENTIAL -> "MADV_SEQUENTIAL";
            case MADV_WILLNEED -> "MADV_WILLNEED";
            default -> "advice " + advice;
        };
    }
}
