package io.embstore.trainer;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code madvise(MADV_RANDOM)} on a mapping: a step touches rows scattered over the table, and without the advice a page
 * fault reads ahead (and zero-fills, for the sparse state files) pages around the one touched, which the next rows do
 * not need: measured, a fifth of a step's time on a 1M-row table went to zeroing read-ahead pages. Optional: where
 * the call is unavailable (another OS, native access denied) it is skipped once with a logged hint.
 */
final class RandomAccessAdvice {
    /** Linux's MADV_RANDOM. */
    private static final int MADV_RANDOM = 1;
    private static final MethodHandle MADVISE = lookup();

    private RandomAccessAdvice() {
    }

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("madvise").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException e) {
            System.getLogger(RandomAccessAdvice.class.getName()).log(System.Logger.Level.INFO,
                    "madvise unavailable (" + e + "): state files are read with the kernel's default read-ahead;"
                            + " run with --enable-native-access=ALL-UNNAMED to allow it");
            return null;
        }
    }

    /** Advises random access on {@code mapping}, which must start on a page boundary (a whole mapping does). */
    static void advise(MemorySegment mapping) {
        if (MADVISE == null || mapping.byteSize() == 0) {
            return;
        }
        try {
            int rc = (int) MADVISE.invokeExact(MemorySegment.ofAddress(mapping.address()), mapping.byteSize(), MADV_RANDOM);
            if (rc != 0) {
                System.getLogger(RandomAccessAdvice.class.getName()).log(System.Logger.Level.DEBUG, "madvise returned " + rc);
            }
        } catch (Throwable t) {
            System.getLogger(RandomAccessAdvice.class.getName()).log(System.Logger.Level.DEBUG, "madvise failed: " + t);
        }
    }
}
