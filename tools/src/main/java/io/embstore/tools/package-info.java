/**
 * The {@code embstore} command-line tool.
 *
 * <p>{@link io.embstore.tools.EmbstoreCli} is the one public type: its {@code main} runs the tool, and
 * {@link io.embstore.tools.EmbstoreCli#createCommandLine} builds the same command tree writing to given streams, so
 * tests run commands in-process. Each subcommand is one package-private class: the store's ({@code create},
 * {@code info}, {@code get}, {@code verify}, {@code demo}), the vector file converters ({@code convert},
 * {@code export}), the queries ({@code similar}, {@code analogy}, {@code similarity}, {@code evaluate}) and the text
 * classifier ({@code train-classifier}, {@code test-classifier}, {@code predict}, {@code compact-classifier}), whose
 * model and training are package-private classes beside them (TextClassifier, ClassifierTraining, ClassifierModel).
 *
 * <p>Errors a user can fix (a missing store, a word that is not in the vocabulary, a bad option value) are reported as
 * one line on standard error and an {@link io.embstore.tools.ExitCode}; only an unexpected failure prints a stack
 * trace.
 */
package io.embstore.tools;
