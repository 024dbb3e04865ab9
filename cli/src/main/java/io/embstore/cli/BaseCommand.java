package io.embstore.cli;

import java.util.concurrent.Callable;

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
}
