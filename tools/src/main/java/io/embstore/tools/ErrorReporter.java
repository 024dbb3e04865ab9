package io.embstore.tools;

import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.embstore.store.StoreException;
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
        if (ex instanceof UserError e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = e.exitCode();
        } else if (ex instanceof InputException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = missing(e.file(), e) ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
        } else if (ex instanceof java.io.UncheckedIOException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = ExitCode.USER_ERROR;
        } else if (ex instanceof StoreException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            // The store names the file or directory concerned: if that is absent, something asked for is not there.
            status = missing(e.path(), e) ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
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
