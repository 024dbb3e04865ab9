package io.embstore.cli;

import io.embstore.store.io.FileSpace;
import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.embstore.store.StoreException;
import io.embstore.classifier.ClassifierException;
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
        int status;
        StoreException wrappedStoreError = ex instanceof StoreException ? null : causeOf(ex, StoreException.class);
        InternalError fault = mappedFileFault(ex);
        Integer userStatus = userErrorStatus(ex);
        if (fault != null && userStatus == null) {
            err.println(name + ": " + oneLine(faultMessage(cmd, fault)));
            status = ExitCode.USER_ERROR;
        } else if (wrappedStoreError != null && userStatus == null && !(ex instanceof InputException)) {
            // A store's error that reached here inside another exception (a task's failure, a stream's) is the same
            // error of the environment or the input, not a bug.
            err.println(name + ": " + oneLine(wrappedStoreError.getMessage()));
            status = storeStatus(wrappedStoreError);
        } else if (userStatus != null) {
            err.println(name + ": " + oneLine(ex.getMessage()));
            status = userStatus;
        } else if (ex instanceof InputException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = missing(e.file(), e) ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
        } else if (ex instanceof java.io.UncheckedIOException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = ExitCode.USER_ERROR;
        } else if (ex instanceof StoreException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = storeStatus(e);
        } else if (ex instanceof FileSystemException e && OutputLocation.deniesAccess(e)) {
            err.println(name + ": " + oneLine((e.getFile() == null ? "" : e.getFile() + ": ") + OutputLocation.reason(e)));
            status = ExitCode.USER_ERROR;
        } else if (ex instanceof IllegalArgumentException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = ExitCode.USER_ERROR;
        } else {
            err.println(name + ": internal error, please report it with this trace:");
            ex.printStackTrace(err);
            status = ExitCode.INTERNAL_ERROR;
        }
        err.flush();
        return status;
    }

    /**
     * The status of a mistake the user can fix that a command or a library found itself and described in full (a
     * missing model, an output directory that is not there), or null for any other exception.
     */
    private static Integer userErrorStatus(Exception ex) {
        return switch (ex) {
            case UserError e -> e.exitCode();
            case OutputException e ->
                    e.kind() == OutputException.Kind.NOT_FOUND ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
            case ClassifierException e ->
                    e.kind() == ClassifierException.Kind.NOT_FOUND ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
            default -> null;
        };
    }

    /**
     * The status of a store's error. The store names the file or directory concerned: if that is absent, something
     * asked for is not there; unless the error is a full disk, which names the store it could not create.
     */
    private static int storeStatus(StoreException e) {
        return missing(e.path(), e) && !FileSpace.isOutOfSpace(e) ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
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

    /**
     * Whether the error means that {@code path} is not there. A path the process may not look into, or create, does
     * not exist as far as {@link Files#exists} can tell: the operating system's refusal says it is bad input (exit 1).
     */
    private static boolean missing(Path path, Exception e) {
        return path != null && !Files.exists(path) && !OutputLocation.deniesAccess(e);
    }

    private static String oneLine(String message) {
        if (message == null || message.isBlank()) {
            return "failed (no message)";
        }
        return PrintableText.escape(message.strip().replaceAll("\\s*\\R\\s*", " "));
    }
}
