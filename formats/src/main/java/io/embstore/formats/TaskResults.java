package io.embstore.formats;

import io.embstore.store.io.Futures;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** The result of a worker's task, with the worker's own exception rethrown as it was (the CLI reports those). */
final class TaskResults {
    private TaskResults() {
    }

    /**
     * Waits for {@code f}; a RuntimeException or Error thrown by the task comes out unchanged, an IOException as an
     * UncheckedIOException, so the error the user sees is the task's, not an ExecutionException around it.
     */
    static <T> T join(Future<T> f, String doing) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + doing, e);
        } catch (ExecutionException e) {
            throw new UncheckedIOException(Futures.cause(e));
        }
    }
}
