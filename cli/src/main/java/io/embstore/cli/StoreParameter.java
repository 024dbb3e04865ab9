package io.embstore.cli;

import java.nio.file.Path;

import picocli.CommandLine.Parameters;

/**
 * The first parameter of a command that works on an existing store. ({@code convert} and {@code create} take a store
 * to create, described as such, and keep their own.) {@link ErrorReporter} finds it by its label to name the store in a
 * mapped-file fault.
 */
final class StoreParameter {
    @Parameters(index = "0", paramLabel = "STORE", description = "The store directory.")
    Path dir;
}
