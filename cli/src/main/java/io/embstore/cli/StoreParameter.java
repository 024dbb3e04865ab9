package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import java.nio.file.Path;

import picocli.CommandLine.Parameters;

/**
 * The first parameter of a command that works on an existing store, and the store it opens. ({@code convert} and {@code create} take a store
 * to create, described as such, and keep their own.) {@link ErrorReporter} finds it by its label to name the store in a
 * mapped-file fault.
 */
final class StoreParameter {
    @Parameters(index = "0", paramLabel = "STORE", description = "The store directory.")
    Path dir;

    /** The store, read-only. */
    EmbeddingStore open() {
        return EmbeddingStore.open(dir);
    }

    /** The store, as its one writer. */
    WritableStore openForWriting() {
        return EmbeddingStore.openForWriting(dir);
    }
}
