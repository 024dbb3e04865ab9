package io.embstore.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/**
 * The {@code --model} option of the commands that use a trained classifier ({@code train-classifier}'s is the model
 * to create, described as such, and is its own). {@link ErrorReporter} finds it by name to name the model in a
 * mapped-file fault.
 */
final class ModelOption {
    @Option(names = "--model", paramLabel = "DIR", required = true, description = "A model made by train-classifier.")
    Path dir;
}
