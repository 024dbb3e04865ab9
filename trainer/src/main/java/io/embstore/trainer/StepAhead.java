package io.embstore.trainer;

import io.embstore.store.WritableStore;
import io.embstore.store.io.MajorFaults;
import io.embstore.store.io.MappingAdvice;

/**
 * A step over rows that are not in memory asks for all of them at once: {@code MADV_WILLNEED} on each unique row's
 * pages of the matrix (and its sequence counter) and of every state file, before the undo log's pre-images and the
 * kernels read them. The reads then go to the disk together, many in flight, where the step's own copies would fault
 * them in one at a time per thread (3 files per row: the disk's queue-depth-1 rate, a third of it in rows; issue 16,
 * benchmarks/results/larger-than-memory.md).
 *
 * <p>Resident tables pay nothing: asking costs a system call per row and file (5-8 µs each even when the page is
 * resident, tens of times a resident row's whole update), so it starts only when the disk is seen in the steps, as a
 * gather's asking ahead does ({@code RowReader}):
 * <ul>
 *   <li>a step is slow when it took more than {@link #SLOW_BASE_NANOS} plus {@link #SLOW_ROW_NANOS} per unique row (a
 *       resident row takes well under a microsecond; one read from the disk, 50-200 µs); only a slow step reads the
 *       calling thread's major faults ({@code getrusage}), one system call;</li>
 *   <li>two slow steps in a row, with major faults in the second: the steps that follow ask ahead. A slow step without
 *       major faults was slow for the CPU (another process on the core), which asking would only make slower;</li>
 *   <li>a step that asked ahead reads the blocks the calling thread's reads took from the disk (the reads
 *       {@code MADV_WILLNEED} starts are the asking thread's): asking goes on while they come to a page per
 *       {@link #ROWS_PER_COLD_PAGE} unique rows or more, and stops when the rows were in memory after all (a hot set
 *       now resident), back to watching the time.</li>
 * </ul>
 * Used by the trainer's one driving thread only (inside its synchronized step).
 */
final class StepAhead {
    /** A step slower than this plus {@link #SLOW_ROW_NANOS} per unique row may have waited on the disk. */
    static final long SLOW_BASE_NANOS = 200_000;
    static final long SLOW_ROW_NANOS = 10_000;
    /**
     * Asking goes on while the step's rows needed a page from the disk for one unique row in this many: about where
     * the calls (5 per row) cost what the synchronous faults they spare would (3 reads of 50-200 µs per cold row).
     */
    static final int ROWS_PER_COLD_PAGE = 8;
    private static final long NOT_SLOW = Long.MIN_VALUE;

    /** When a step asks ahead: {@link #AUTO} as above; tests force the other two. */
    enum Mode { AUTO, ALWAYS, NEVER }

    private final WritableStore store;
    private final OptimizerState state;
    private Mode mode = Mode.AUTO;
    private boolean asking;
    /** The major faults read at the end of the last step when it was slow (-1: unknown); NOT_SLOW when it was not. */
    private long slowFaults = NOT_SLOW;
    /** The calling thread's blocks read before this step asked (-1: unknown). */
    private long blocksBefore;
    private long stepsAsked;

    StepAhead(WritableStore store, OptimizerState state) {
        this.store = store;
        this.state = state;
    }

    void mode(Mode m) {
        mode = m;
        asking = m == Mode.ALWAYS;
        slowFaults = NOT_SLOW;
    }

    /** Steps that asked ahead so far (tests). */
    long stepsAsked() {
        return stepsAsked;
    }

    /**
     * Before any of the step's rows is read: asks for all of them if the last steps waited on the disk. Returns the
     * clock at the start, for {@link #after}.
     */
    long before(StepCoalescer c) {
        long start = System.nanoTime();
        if (!asking) {
            return start;
        }
        blocksBefore = MajorFaults.blocksReadByThisThread();
        int[] rows = c.rows;
        for (int k = 0; k < c.unique; k++) {
            int row = rows[k];
            store.willRead(row, row + 1L);
            state.willNeed(row);
        }
        stepsAsked++;
        return start;
    }

    /** After the step's rows are written: decides whether the next step asks ahead. */
    void after(int unique, long start) {
        if (mode != Mode.AUTO) {
            return;
        }
        boolean slow = System.nanoTime() - start > SLOW_BASE_NANOS + unique * SLOW_ROW_NANOS;
        if (asking) {
            long blocks = MajorFaults.blocksReadByThisThread();
            boolean cold = blocks < 0 || blocksBefore < 0 ? slow
                    : (blocks - blocksBefore) * 512 / MappingAdvice.pageSize() * ROWS_PER_COLD_PAGE >= unique;
            if (!cold) {
                asking = false;
                slowFaults = NOT_SLOW;
            }
            return;
        }
        if (!slow) {
            slowFaults = NOT_SLOW;
            return;
        }
        long faults = MajorFaults.ofThisThread();
        boolean disk = faults < 0 ? slowFaults != NOT_SLOW : slowFaults >= 0 && faults > slowFaults;
        slowFaults = faults;
        asking = disk && MappingAdvice.available() && unique > 0;
    }
}
