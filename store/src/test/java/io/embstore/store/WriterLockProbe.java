package io.embstore.store;

import java.nio.file.Path;

/**
 * Child JVM of {@link WriterLockTest}: tries once to open a store for writing and prints {@code LOCKED} (then closes it
 * again) or {@code REFUSED <kind> <message>}.
 *
 * <p>Argument: the store directory.
 */
final class WriterLockProbe {
    private WriterLockProbe() {
    }

    public static void main(String[] args) {
        try (WritableStore store = EmbeddingStore.openForWriting(Path.of(args[0]))) {
            System.out.println("LOCKED");
        } catch (StoreException e) {
            System.out.println("REFUSED " + e.kind() + " " + e.getMessage());
        }
    }
}
