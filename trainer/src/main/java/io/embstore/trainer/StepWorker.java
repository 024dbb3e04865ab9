package io.embstore.trainer;

import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread that runs its kernel on each step submitted. Between steps it spins a little ({@link #SPIN_NANOS}), so
 * that back-to-back steps reach it in well under a microsecond, then parks; a parked worker is woken at the start
 * of the next step, while the caller still checks and coalesces the ids, so it is running when the rows are
 * ready. (An executor's hand-off took tens of microseconds per step, a tenth of a two-threaded step.)
 */
final class StepWorker extends Thread {
    /** How long an idle worker spins before it parks: a few steps' serial part, small next to a time slice. */
    static final long SPIN_NANOS = 200_000;
    private final RowKernel kernel;
    private volatile Step step;
    private volatile boolean parked;
    private volatile boolean stopped;

    StepWorker(RowKernel kernel, Path dir) {
        super("embstore-trainer " + dir.getFileName());
        this.kernel = kernel;
        setDaemon(true);
    }

    void wake() {
        if (parked) {
            LockSupport.unpark(this);
        }
    }

    void submit(Step s) {
        step = s;
        wake();
    }

    void shutdown() {
        stopped = true;
        LockSupport.unpark(this);
    }

    @Override
    public void run() {
        Step done = null;
        long idleSince = System.nanoTime();
        while (!stopped) {
            Step s = step;
            if (s != done) {
                done = s;
                kernel.run(s);
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                parked = true;
                if (step == done && !stopped) { // re-checked after parked is set: submit() sees one or the other
                    LockSupport.park(this);
                }
                parked = false;
                idleSince = System.nanoTime();
            }
        }
    }
}
