package io.embstore.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exit statuses of every {@code embstore} command. Scripts may rely on them: they only ever get new members.
 */
final class ExitCode {
    /** The command did what it was asked. */
    static final int OK = 0;
    /**
     * The input was wrong: a malformed or locked store, a bad words file, a value the store rejects, a path the
     * operating system does not let this process write (permission denied); or the environment failed the command:
     * no space left on the device, an I/O error in a mapped file.
     */
    static final int USER_ERROR = 1;
    /** The command line itself was wrong: an unknown option, a missing parameter, a value of the wrong form. */
    static final int USAGE = 2;
    /** Something asked for does not exist: the store directory, a word, a row, the directory an output goes in. */
    static final int NOT_FOUND = 3;
    /** A bug in embstore: the stack trace was printed and is worth reporting. */
    static final int INTERNAL_ERROR = 70;

    private ExitCode() {
    }

    /** The table printed under "Exit Codes:" in every command's help, in order. */
    static Map<String, String> helpList() {
        Map<String, String> list = new LinkedHashMap<>();
        list.put(" 0", "success");
        list.put(" 1", "bad input: malformed or locked store, bad file, rejected value, permission denied, no space left");
        list.put(" 2", "bad command line: unknown option, missing or malformed parameter");
        list.put(" 3", "not found: the store, a file, a word, a row, an output's parent directory");
        list.put("70", "internal error: a bug in embstore (a stack trace is printed)");
        return list;
    }
}
