package io.embstore.trainer;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One step's shared inputs, the cursor workers claim chunks of unique rows from, and the count of rows done. A
 * worker adds its chunk to {@code completed} only after writing the rows, so the caller returning when it reaches
 * {@code unique} means every row is written (the atomic add and get order the writes before the return).
 */
final class Step {
    final StepCoalescer rows;
    /**
     * The step's unique rows, fixed here: the coalescer is reused by the next step, and a worker that comes to an
     * old step late must find it finished (every chunk claimed), not read the next step's count.
     */
    final int unique;
    final float[] gradArray;
    final MemorySegment gradSegment;
    final long t;
    /** The learning rate of this step, read by every worker with the step (not a field each would have to see change). */
    final double lr;
    final AtomicInteger next = new AtomicInteger();
    final AtomicInteger completed = new AtomicInteger();
    volatile Throwable failure;

    Step(StepCoalescer rows, int unique, float[] gradArray, MemorySegment gradSegment, long t, double lr) {
        this.rows = rows;
        this.unique = unique;
        this.gradArray = gradArray;
        this.gradSegment = gradSegment;
        this.t = t;
        this.lr = lr;
    }

    /** Returns when every unique row is written; rethrows a worker's failure. */
    void awaitRows() {
        // Wait for the rows, not for the workers: a worker the OS has not scheduled yet (another process on the core)
        // finds every chunk claimed when it runs, and the step does not wait a time slice for it.
        for (int spins = 0; completed.get() < unique && failure == null; spins++) {
            if (spins < 10_000) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        if (failure != null) {
            throw failure instanceof RuntimeException r ? r : new IllegalStateException("a step failed", failure);
        }
    }
}
