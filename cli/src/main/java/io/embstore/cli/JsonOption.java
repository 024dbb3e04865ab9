package io.embstore.cli;

import picocli.CommandLine.Option;

/** The {@code --json} option shared by the commands that print results. */
final class JsonOption {
    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;
}
