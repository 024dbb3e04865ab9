package io.embstore.tools;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

import picocli.CommandLine;

/**
 * The {@code embstore} command-line tool: every subcommand of {@link EmbstoreCommand} ({@code --help} lists them).
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED -jar tools/target/embstore.jar --help
 * }</pre>
 *
 * <p>Exit statuses: 0 success, 1 bad input, 2 bad command line, 3 not found (store, word, row), 70 internal error.
 * Errors a user can fix are one line on standard error, never a stack trace.
 */
public final class EmbstoreCli {
    private EmbstoreCli() {
    }

    /**
     * Runs one command and exits with its status. Output is UTF-8 whatever the locale, as words may be any text;
     * standard output is buffered (a command that streams progress flushes it), standard error is not.
     */
    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(
                new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), 1 << 16), false);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(
                new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8), true);
        int status = createCommandLine(out, err).execute(args);
        out.flush();
        err.flush();
        System.exit(status);
    }

    /**
     * The whole command tree, writing its results to {@code out} and its errors and usage messages to {@code err}:
     * {@code createCommandLine(out, err).execute(args)} runs a command in-process and returns its exit status.
     */
    public static CommandLine createCommandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new EmbstoreCommand());
        cl.setOut(out);
        cl.setErr(err);
        ErrorReporter reporter = new ErrorReporter();
        cl.setExecutionExceptionHandler(reporter);
        cl.setParameterExceptionHandler(reporter);
        applyHelpLayout(cl);
        return cl;
    }

    /** The same help sections in every command, ending with the exit statuses. */
    private static void applyHelpLayout(CommandLine cl) {
        cl.getCommandSpec().usageMessage()
                .parameterListHeading("%nParameters:%n")
                .optionListHeading("%nOptions:%n")
                .exitCodeListHeading("%nExit codes:%n")
                .exitCodeList(ExitCode.helpList());
        for (CommandLine sub : cl.getSubcommands().values()) {
            applyHelpLayout(sub);
        }
    }
}
