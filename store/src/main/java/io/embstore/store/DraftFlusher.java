package io.embstore.store;

import java.lang.foreign.MemorySegment;

/**
 * The thread of a large {@link StoreDraft} that forces the matrix to disk while rows are being put, so that the disk
 * works during a bulk load and the commit's own force finds little left.
 */
final class DraftFlusher {
    /** Drafts that can hold this many bytes of rows force the matrix in the background while rows are put. */
    static final long FLUSH_STEP = 64L << 20;
    /** How often the flusher forces the matrix while rows are put. */
    private static final long FLUSH_MILLIS = 100;

    private final Object flushLock = new Object();
    /** The matrix mapping as the flusher may force it: set on every growth, read by the flusher thread. */
    private volatile MemorySegment flushable;
    private Thread thread;
    private boolean stopped;

    /** The mapping to force from now on (the draft's matrix after a growth). */
    void target(MemorySegment matrix) {
        flushable = matrix;
    }

    /**
     * Starts, once the draft can hold {@link #FLUSH_STEP} bytes of rows, the thread that forces the matrix to disk
     * every {@link #FLUSH_MILLIS} while rows are being put. A bulk load writes far more than the disk can take in at
     * commit time; this way the disk works during the load and the commit's own force finds little left. Small
     * drafts never start it. It goes by the clock rather than by the rows put: counting them would put a shared
     * counter and a branch taken once in a while into {@link StoreDraft#putRow}, the hottest method of a load, and the
     * branch's first use would send it back to the interpreter. A force with nothing new to write costs little.
     */
    void start() {
        synchronized (flushLock) {
            if (thread != null || stopped) {
                return;
            }
            thread = new Thread(this::flushWhilePutting, "embstore-draft-flush");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private void flushWhilePutting() {
        while (true) {
            synchronized (flushLock) {
                if (!stopped) {
                    try {
                        flushLock.wait(FLUSH_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (stopped) {
                    return;
                }
            }
            try {
                flushable.force();
            } catch (RuntimeException e) {
                // The commit forces everything again and reports a failure there, with the store's path.
                return;
            }
        }
    }

    /** Tells the flusher to force no more, without waiting for a force it is in; returns the flusher or null. */
    Thread askToStop() {
        synchronized (flushLock) {
            stopped = true;
            flushLock.notifyAll();
            return thread;
        }
    }

    /** Stops the flusher and waits for its current force: the mappings may be closed after this. */
    void stop() {
        Thread t = askToStop();
        if (t != null) {
            boolean interrupted = false;
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
