package io.embstore.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * What every {@code embstore} command has: its picocli model, for its output and error writers and its name in
 * messages. {@code --help} and {@code --version} are declared once, on {@link EmbstoreCommand}, and inherited by every
 * subcommand (scope INHERIT), so a command declares only its own options and parameters.
 */
abstract class BaseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** Prints each line on standard error after the command's name, at once: the notes of a long-running command. */
    final Consumer<String> stderrNotes() {
        PrintWriter err = spec.commandLine().getErr();
        return line -> {
            err.println(spec.qualifiedName() + ": " + line);
            err.flush();
        };
    }
}
