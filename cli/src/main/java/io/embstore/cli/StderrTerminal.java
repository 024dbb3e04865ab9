package io.embstore.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Whether standard error (file descriptor 2) is a terminal, asked of libc's {@code isatty}: the progress bars draw on
 * standard error, and {@link java.io.Console#isTerminal()} answers for standard input and output instead, so
 * {@code 2>log} under a terminal would fill the log with bar frames and {@code >out} would hide the bar from the
 * terminal. Where the call is unavailable (no libc symbol, native access not granted) the answer is "not a terminal":
 * a missing bar is harmless, escape codes in a log are not.
 */
final class StderrTerminal {
    private static final int STDERR_FD = 2;

    private StderrTerminal() {
    }

    /** The answer, asked once: the descriptor does not change what it refers to while the process runs. */
    static boolean isTerminal() {
        return Answer.IS_TERMINAL;
    }

    private static final class Answer {
        static final boolean IS_TERMINAL = ask();
    }

    private static boolean ask() {
        // Without native access the downcall would print the JVM's restricted-method warning on the very stream
        // the user is watching; the launcher and the tests grant it.
        if (!StderrTerminal.class.getModule().isNativeAccessEnabled()) {
            return false;
        }
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.defaultLookup().find("isatty")
                    .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)))
                    .orElse(null);
            return isatty != null && (int) isatty.invokeExact(STDERR_FD) == 1;
        } catch (Throwable t) {
            return false;
        }
    }
}
