package io.embstore.cli;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

import picocli.CommandLine;

/**
 * The {@code embstore} command-line tool: every subcommand of {@link EmbstoreCommand} ({@code --help} lists them).
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED -jar cli/target/embstore.jar --help
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
        int status = createCommandLine(out, err, args).execute(args);
        out.flush();
        err.flush();
        System.exit(status);
    }

    /**
     * The whole command tree, writing its results to {@code out} and its errors and usage messages to {@code err}:
     * {@code createCommandLine(out, err).execute(args)} runs a command in-process and returns its exit status.
     */
    public static CommandLine createCommandLine(PrintWriter out, PrintWriter err) {
        return createCommandLine(out, err, new String[0]);
    }

    /**
     * The command tree for running {@code args}: when the first argument names a command other than {@code help},
     * only that command is built. picocli builds each command's model by reflection, in its own classes, which the
     * JDK's AOT cache cannot hold (they are Java 5 class files), so building every command's model was most of a short
     * command's start (benchmarks/results/conversion.md, "Start-up, session 3"). Anything else (no command,
     * {@code --help}, {@code help}, a misspelt command) gets the whole tree, so its usage and suggestions list every
     * command.
     */
    static CommandLine createCommandLine(PrintWriter out, PrintWriter err, String[] args) {
        CommandLine cl = new CommandLine(new EmbstoreCommand());
        Class<?> only = args.length == 0 ? null : subcommandNamed(args[0]);
        for (Class<?> sub : EmbstoreCommand.SUBCOMMANDS) {
            if (only == null || sub == only) {
                cl.addSubcommand(sub);
            }
        }
        cl.setOut(out);
        cl.setErr(err);
        ErrorReporter reporter = new ErrorReporter();
        cl.setExecutionStrategy(EmbstoreCli::runReportingFaults);
        cl.setExecutionExceptionHandler(reporter);
        cl.setParameterExceptionHandler(reporter);
        applyHelpLayout(cl);
        return cl;
    }

    /**
     * Runs the command; a fault in a mapped file (an {@link InternalError}, which picocli lets pass as it is no
     * exception) goes to the {@link ErrorReporter} like any failure, so that it is one line and exit 1, not a trace.
     */
    private static int runReportingFaults(CommandLine.ParseResult parsed) {
        try {
            return new CommandLine.RunLast().execute(parsed);
        } catch (InternalError e) {
            if (ErrorReporter.mappedFileFault(e) == null) {
                throw e;
            }
            List<CommandLine> commands = parsed.asCommandLineList();
            CommandLine cmd = commands.get(commands.size() - 1);
            throw new CommandLine.ExecutionException(cmd, String.valueOf(e.getMessage()), new MappedFileFault(e));
        }
    }

    /** A fault in a mapped file, as an exception for picocli's handler (see {@link #runReportingFaults}). */
    static final class MappedFileFault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MappedFileFault(InternalError fault) {
            super(fault.getMessage(), fault);
        }
    }

    private static Class<?> subcommandNamed(String name) {
        if (name.equals("help")) {
            return null;
        }
        for (Class<?> sub : EmbstoreCommand.SUBCOMMANDS) {
            if (sub.getAnnotation(CommandLine.Command.class).name().equals(name)) {
                return sub;
            }
        }
        return null;
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
