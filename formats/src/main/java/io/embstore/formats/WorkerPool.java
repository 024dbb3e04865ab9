package io.embstore.formats;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** The threads a conversion or an export parses and formats on. */
final class WorkerPool {
    private WorkerPool() {
    }

    /**
     * {@code threads} threads named {@code name}; daemons, so that a command that fails on its main thread exits
     * without waiting for them (the caller shuts the pool down when it is done).
     */
    static ExecutorService fixed(int threads, String name) {
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }
}
