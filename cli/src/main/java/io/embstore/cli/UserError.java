package io.embstore.cli;

/**
 * A mistake the user can fix, found by a command itself (a words file that is not UTF-8, a word that is not in the
 * vocabulary): {@link ErrorReporter} prints the message as one line and exits with {@link #exitCode()}.
 */
final class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    UserError(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    UserError(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** One of the {@link ExitCode} statuses. */
    int exitCode() {
        return exitCode;
    }
}
