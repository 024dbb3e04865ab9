package io.embstore.store.io;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * The calling thread's major page faults ({@code getrusage(RUSAGE_THREAD)}'s {@code ru_majflt}): faults that waited
 * for the disk. A read path that finds itself slow asks this to tell a wait on the disk, which advice can shorten,
 * from one on the CPU (another process on the core, minor faults of a fresh mapping), which advice only makes worse.
 */
public final class MajorFaults {
    /** Linux's RUSAGE_THREAD. */
    private static final int RUSAGE_THREAD = 1;
    /**
     * Offset of {@code ru_majflt} in {@code struct rusage} on 64-bit Linux: two {@code struct timeval} (16 bytes
     * each), then {@code long ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt}.
     */
    private static final long MAJFLT_OFFSET = 32 + 5 * Long.BYTES;
    /** Offset of {@code ru_inblock}: after {@code ru_majflt} and {@code ru_nswap}. */
    private static final long INBLOCK_OFFSET = 32 + 7 * Long.BYTES;
    private static final long RUSAGE_BYTES = 144;
    private static final MethodHandle GETRUSAGE = lookup();
    private static final ThreadLocal<MemorySegment> USAGE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(RUSAGE_BYTES, Long.BYTES));

    private MajorFaults() {
    }

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                || ValueLayout.ADDRESS.byteSize() != 8) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("getrusage").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS))).orElse(null);
        } catch (RuntimeException e) {
            return null; // native access denied: callers go by time alone (MappingAdvice logs the denial)
        }
    }

    /** The calling thread's major faults so far, or -1 where the count is unavailable. A system call. */
    public static long ofThisThread() {
        return usage(MAJFLT_OFFSET);
    }

    /**
     * The 512-byte blocks the calling thread's reads have asked of the disk so far ({@code ru_inblock}), or -1 where
     * the count is unavailable. Unlike the major faults it counts the reads a {@code MADV_WILLNEED} started, and not
     * the faults that found a hole of a sparse file. A system call.
     */
    public static long blocksReadByThisThread() {
        return usage(INBLOCK_OFFSET);
    }

    private static long usage(long offset) {
        if (GETRUSAGE == null) {
            return -1;
        }
        MemorySegment usage = USAGE.get();
        try {
            int rc = (int) GETRUSAGE.invokeExact(RUSAGE_THREAD, usage);
            return rc == 0 ? usage.get(ValueLayout.JAVA_LONG, offset) : -1;
        } catch (Throwable t) {
            return -1;
        }
    }
}
