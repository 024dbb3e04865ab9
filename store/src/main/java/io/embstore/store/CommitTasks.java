package io.embstore.store;

import io.embstore.store.io.Futures;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Work of a {@link StoreDraft}'s commit that runs beside it: forces (waiting on the disk) and computations. */
final class CommitTasks {
    /** Runs a piece of file work that may throw {@link IOException}. */
    interface IoWork {
        void run() throws IOException;
    }

    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "embstore-commit");
        t.setDaemon(true);
        return t;
    });
    private final List<Future<?>> pending = new ArrayList<>();

    void force(MemorySegment seg) {
        pending.add(pool.submit(seg::force));
    }

    void run(IoWork work) {
        pending.add(pool.submit(() -> {
            work.run();
            return null;
        }));
    }

    <T> Future<T> compute(Callable<T> work) {
        Future<T> f = pool.submit(work);
        pending.add(f);
        return f;
    }

    <T> T join(Future<T> f) throws IOException {
        // The mappings must outlive every task, so the wait goes on through an interrupt.
        return Futures.joinUninterruptibly(f);
    }

    /** Waits for every task; the first failure is thrown after all have ended. */
    void finish() throws IOException {
        Throwable first = null;
        for (Future<?> f : pending) {
            try {
                join(f);
            } catch (IOException | RuntimeException | Error e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        pending.clear();
        pool.shutdown();
        if (first instanceof IOException io) {
            throw io;
        }
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first != null) {
            throw (Error) first;
        }
    }

    /** Waits for every task and ignores their failures: the draft is being deleted. */
    void abandon() {
        try {
            finish();
        } catch (IOException | RuntimeException | Error ignored) {
            // The first failure is already on its way to the caller.
        }
    }
}
