/**
 * The {@code embstore} command-line tool: the commands only; picocli is used here and nowhere else.
 *
 * <p>{@link io.embstore.cli.EmbstoreCli} is the one public type: its {@code main} runs the tool, and
 * {@link io.embstore.cli.EmbstoreCli#createCommandLine} builds the same command tree writing to given streams, so
 * tests run commands in-process. Each subcommand is one package-private class: the store's ({@code create},
 * {@code info}, {@code get}, {@code verify}, {@code demo}), the vector file converters ({@code convert},
 * {@code export}, over {@code io.embstore.formats}), the queries ({@code similar}, {@code analogy},
 * {@code similarity}, {@code evaluate}) and the text classifier ({@code train-classifier}, {@code test-classifier},
 * {@code predict}, {@code compact-classifier}, over {@code io.embstore.classifier}).
 *
 * <p>Errors a user can fix (a missing store, a word that is not in the vocabulary, a bad option value) are reported as
 * one line on standard error and an {@link io.embstore.cli.ExitCode}; only an unexpected failure prints a stack
 * trace. The libraries below throw their own exceptions; only this package knows exit codes.
 */
package io.embstore.cli;
