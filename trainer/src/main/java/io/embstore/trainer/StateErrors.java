package io.embstore.trainer;

import io.embstore.store.StoreException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The trainer's errors about its files, as the store's own exception: a caller (the CLI's exit codes) decides by
 * {@link StoreException#kind()} for the optimizer state as it does for the matrix beside it. The message is
 * "file: what was wrong" as given, without the cause's message appended (the cause stays the cause).
 */
final class StateErrors {
    private StateErrors() {
    }

    /**
     * A damaged, truncated or foreign state file or record: {@link StoreException.Kind#CORRUPT}. A state file missing
     * while {@code optim.meta} says the state exists is damage too (the state is incomplete, and the remedy is the
     * same: delete the {@code optim.*} files), not a store that was never there.
     */
    static StoreException corrupt(Path file, String message) {
        return new StoreException(StoreException.Kind.CORRUPT, file, message);
    }

    /** As {@link #corrupt(Path, String)}, found through {@code cause}. */
    static StoreException corrupt(Path file, String message, Throwable cause) {
        StoreException e = corrupt(file, message);
        e.initCause(cause);
        return e;
    }

    /** A failure to read or write {@code file}: {@link StoreException.Kind#IO}, or NO_SPACE when the system said so. */
    static StoreException io(Path file, String message, IOException cause) {
        StoreException e = new StoreException(StoreException.Kind.of(cause), file, message);
        e.initCause(cause);
        return e;
    }
}
