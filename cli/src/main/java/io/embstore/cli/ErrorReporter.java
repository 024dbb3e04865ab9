package io.embstore.cli;

import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.embstore.store.StoreException;
import io.embstore.classifier.ClassifierException;
import io.embstore.replication.ReplicationException;
import io.embstore.formats.InputException;
import io.embstore.formats.OutputException;
import io.embstore.formats.OutputLocation;
import io.embstore.formats.PrintableText;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns what a command throws into one line on standard error and an {@link ExitCode}. Only exceptions that mean a bug
 * in embstore print a stack trace; a user's mistake never does.
 */
final class ErrorReporter implements IExecutionExceptionHandler, IParameterExceptionHandler {

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        err.println(name + ": " + describe(ex, cmd) + " (see '" + name + " --help')");
        err.flush();
        return ExitCode.USAGE;
    }

    /** Picocli's message, but for a mistyped command name, which it reports as an "unmatched argument". */
    private static String describe(ParameterException ex, CommandLine cmd) {
        if (ex instanceof UnmatchedArgumentException u && !cmd.getSubcommands().isEmpty()
                && cmd.getCommandSpec().positionalParameters().isEmpty() && !u.getUnmatched().isEmpty()) {
            String word = u.getUnmatched().get(0);
            if (!word.startsWith("-")) {
                List<String> commands = cmd.getSubcommands().entrySet().stream()
                        .filter(e -> !e.getValue().getCommandSpec().usageMessage().hidden())
                        .map(Map.Entry::getKey)
                        .toList();
                return "unknown command '" + word + "': expected one of " + String.join(", ", commands);
            }
        }
        return oneLine(ex.getMessage());
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        cmd.getOut().flush();
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        Report report = report(ex, cmd);
        if (report == null) {
            err.println(name + ": internal error, please report it with this trace:");
            ex.printStackTrace(err);
            err.flush();
            return ExitCode.INTERNAL_ERROR;
        }
        err.println(name + ": " + oneLine(report.message()));
        err.flush();
        return report.status();
    }

    /** What to tell the user and the exit status. */
    private record Report(String message, int status) {
    }

    /**
     * The table from what a command threw to its one line and exit status, first match wins; null for a bug. An
     * exception that says what it is (its kind) decides by kind; the exit statuses themselves live only here and in
     * {@link ExitCode}.
     */
    private static Report report(Exception ex, CommandLine cmd) {
        // A mistake the command or a library found and described in full: its kind gives the status.
        Integer described = switch (ex) {
            case UserError e -> e.exitCode();
            case OutputException e ->
                    e.kind() == OutputException.Kind.NOT_FOUND ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
            case ClassifierException e ->
                    e.kind() == ClassifierException.Kind.NOT_FOUND ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
            // A foreign topic, a table of another shape, a broker out of reach: named in full by the module.
            case ReplicationException e -> ExitCode.USER_ERROR;
            default -> null;
        };
        if (described != null) {
            return new Report(ex.getMessage(), described);
        }
        // The I/O fault of a mapped file (full disk, failing device), wherever it was caught and wrapped.
        InternalError fault = mappedFileFault(ex);
        if (fault != null) {
            return new Report(faultMessage(cmd, fault), ExitCode.USER_ERROR);
        }
        // A store's error, also inside another exception (a task's failure, a stream's): the environment or the
        // input, not a bug. A malformed input file's error stands on its own even when a store's caused it.
        StoreException store = ex instanceof InputException ? null : causeOf(ex, StoreException.class);
        if (store != null) {
            return new Report(store.getMessage(),
                    store.kind() == StoreException.Kind.NOT_FOUND ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR);
        }
        return switch (ex) {
            // InputException has no kind: an input file that is not there is the one mistake it reports that is
            // "not found"; a file the process may not look into is not missing but refused.
            case InputException e -> new Report(e.getMessage(),
                    e.file() != null && !Files.exists(e.file()) && !OutputLocation.deniesAccess(e)
                            ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR);
            case java.io.UncheckedIOException e -> new Report(e.getMessage(), ExitCode.USER_ERROR);
            case FileSystemException e when OutputLocation.deniesAccess(e) -> new Report(
                    (e.getFile() == null ? "" : e.getFile() + ": ") + OutputLocation.reason(e), ExitCode.USER_ERROR);
            case IllegalArgumentException e -> new Report(e.getMessage(), ExitCode.USER_ERROR);
            default -> null;
        };
    }

    /** The first of {@code t} and its causes that is a {@code type}, or null. */
    private static <T extends Throwable> T causeOf(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    /**
     * The fault of a read or write through a mapped file (the JVM's {@link InternalError} "a fault occurred in an
     * unsafe memory access operation", the SIGBUS of a full disk or a failing device) among {@code t} and its causes,
     * or null. Other internal errors are bugs and keep their trace.
     */
    static InternalError mappedFileFault(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof InternalError e && e.getMessage() != null && e.getMessage().contains("a fault occurred in")
                    && e.getMessage().contains("unsafe memory access")) {
                return e;
            }
        }
        return null;
    }

    /** The one line for a mapped-file fault, naming the store or model the command was working on. */
    private static String faultMessage(CommandLine cmd, InternalError fault) {
        Path store = storeOf(cmd);
        return (store == null ? "" : store + ": ") + "I/O error in a memory-mapped file (the file system may be full"
                + " or the device failing; check with df, free some space and run 'embstore verify' on the store)";
    }

    /** The store (or model directory) a command was given: its STORE parameter, else its --model, else null. */
    private static Path storeOf(CommandLine cmd) {
        ParseResult parsed = cmd.getParseResult();
        if (parsed == null) {
            return null;
        }
        for (CommandLine.Model.PositionalParamSpec p : parsed.matchedPositionals()) {
            if ("STORE".equals(p.paramLabel()) && p.getValue() instanceof Path path) {
                return path;
            }
        }
        for (CommandLine.Model.OptionSpec o : parsed.matchedOptions()) {
            if (o.longestName().equals("--model") && o.getValue() instanceof Path path) {
                return path;
            }
        }
        return null;
    }

    private static String oneLine(String message) {
        if (message == null || message.isBlank()) {
            return "failed (no message)";
        }
        return PrintableText.escape(message.strip().replaceAll("\\s*\\R\\s*", " "));
    }
}
