package io.embstore.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
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
            status = e.file() != null && !Files.exists(e.file()) ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
        } else if (ex instanceof java.io.UncheckedIOException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            status = ExitCode.USER_ERROR;
        } else if (ex instanceof StoreException e) {
            err.println(name + ": " + oneLine(e.getMessage()));
            // The store names the file or directory concerned: if that is absent, something asked for is not there.
            status = e.path() != null && !Files.exists(e.path()) ? ExitCode.NOT_FOUND : ExitCode.USER_ERROR;
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

    private static String oneLine(String message) {
        if (message == null || message.isBlank()) {
            return "failed (no message)";
        }
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
