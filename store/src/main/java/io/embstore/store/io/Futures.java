package io.embstore.store.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * The one way embstore waits for its own background work: the task's failure comes out as the task threw it (a
 * {@link RuntimeException} or {@link Error} unchanged, an {@link IOException} as itself), never as an
 * {@link ExecutionException} around it.
 */
public final class Futures {
    private Futures() {
    }

    /**
     * The failure inside {@code e}: rethrows an unchecked one as it is, returns an {@link IOException} for the caller
     * to throw (or wrap), and wraps any other checked exception in an {@link IllegalStateException}.
     */
    public static IOException cause(ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException r) {
            throw r;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        if (cause instanceof IOException io) {
            return io;
        }
        throw new IllegalStateException(cause);
    }

    /**
     * Waits for {@code f} even when interrupted (for work whose resources, mappings for instance, must outlive every
     * task), keeping the interrupt for the caller; the task's failure comes out as {@link #cause} says.
     */
    public static <T> T joinUninterruptibly(Future<T> f) throws IOException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            throw cause(e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * {@link #joinUninterruptibly}, for callers that cannot throw a checked exception: the task's {@link IOException}
     * comes out as an {@link UncheckedIOException} around it.
     */
    public static <T> T joinUnchecked(Future<T> f) {
        try {
            return joinUninterruptibly(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
