package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.Seeds;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer.Options;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-off to the worker threads: three trainers, on 1, 2 and 3 threads, given the same steps, end bit for bit
 * equal. The steps alternate large ones (fanned out) with tiny ones (the caller alone) so that a worker late for a
 * step meets the next step's rows in the reused coalescer; some steps follow a pause longer than a worker's spin, so
 * workers park and are woken; gradients come as arrays, as shared segments (fanned out) and confined ones (caller).
 */
class WorkerHandOffTest {
    static final int ROWS = 3000;
    static final int DIM = 19;

    @TempDir
    Path tmp;

    /**
     * A worker that reaches a step only after it finished (every chunk claimed by others) while the coalescer already
     * holds the next, larger step must do nothing: it must not take the new rows with the old step's gradients.
     */
    @Test
    void aWorkerLateForAFinishedStepChangesNothing() {
        try (WritableStore store = EmbeddingStore.builder(tmp.resolve("late")).vocabulary(false).rows(ROWS).dim(DIM)
                .init(Init.normal(3)).create();
             SparseTrainer trainer = SparseTrainer.attach(store, Options.adam().threads(1).build())) {
            OptimizerState state = SparseTrainerTest.stateOf(trainer);
            RowKernel kernel = new RowKernel(store, state, Options.adam().build());
            StepCoalescer c = new StepCoalescer();
            c.coalesce(new int[] {1, 2, 3}, null, 3, -1, null);
            float[] g = new float[1000 * DIM]; // a caller's reused buffer, longer than the step: in bounds for the next
            java.util.Arrays.fill(g, 0.5f); // not zero: a zero gradient leaves a fresh row's weights as they were
            Step old = new Step(c, c.unique, g, null, 1, 1e-3);
            kernel.run(old);
            assertEquals(3, old.completed.get());
            int[] next = new int[500];
            for (int i = 0; i < next.length; i++) {
                next[i] = 100 + i;
            }
            c.coalesce(next, null, next.length, -1, null); // the next step's rows, in the same coalescer
            byte[][] before = new byte[ROWS][];
            for (int row = 0; row < ROWS; row++) {
                before[row] = store.rowSegment(row).toArray(ValueLayout.JAVA_BYTE);
            }
            long stateBefore = trainer.stateChecksum();
            kernel.run(old); // late
            assertEquals(null, old.failure);
            assertEquals(stateBefore, trainer.stateChecksum(), "optimizer state");
            for (int row = 0; row < ROWS; row++) {
                assertArrayEquals(before[row], store.rowSegment(row).toArray(ValueLayout.JAVA_BYTE), "row " + row);
            }
            assertEquals(3, old.completed.get());
        }
    }

    @Test
    void oneTwoAndThreeThreadsGiveTheSameBits() {
        long seed = Seeds.seed("handoff");
        SplittableRandom r = new SplittableRandom(seed);
        EmbeddingStore[] stores = new EmbeddingStore[3];
        SparseTrainer[] trainers = new SparseTrainer[3];
        try (Arena shared = Arena.ofShared()) {
            for (int i = 0; i < 3; i++) {
                stores[i] = EmbeddingStore.builder(tmp.resolve("s" + i)).vocabulary(false).rows(ROWS).dim(DIM)
                        .init(Init.normal(seed)).create();
                trainers[i] = SparseTrainer.attach(stores[i], Options.adam().learningRate(0.01).threads(i + 1)
                        .undoLog(i != 1).build());
            }
            for (int step = 0; step < 400; step++) {
                int n = step % 2 == 0 ? 200 + r.nextInt(2000) : 1 + r.nextInt(40);
                int[] ids = new int[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = r.nextInt(3) == 0 ? r.nextInt(16) : r.nextInt(ROWS);
                }
                float[] g = new float[n * DIM];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) r.nextGaussian();
                }
                if (step % 37 == 0) {
                    LockSupport.parkNanos(2 * StepWorker.SPIN_NANOS); // the workers park
                }
                int how = r.nextInt(3);
                for (SparseTrainer t : trainers) {
                    if (how == 0) {
                        t.step(ids, g);
                    } else {
                        try (Arena confined = Arena.ofConfined()) {
                            MemorySegment seg = (how == 1 ? shared : confined).allocate(4L * g.length, 4);
                            MemorySegment.copy(g, 0, seg, ValueLayout.JAVA_FLOAT, 0, g.length);
                            t.step(ids, seg);
                        }
                    }
                }
            }
            for (int i = 1; i < 3; i++) {
                assertEquals(trainers[0].steps(), trainers[i].steps());
                for (int row = 0; row < ROWS; row++) {
                    assertArrayEquals(stores[0].rowSegment(row).toArray(ValueLayout.JAVA_BYTE),
                            stores[i].rowSegment(row).toArray(ValueLayout.JAVA_BYTE), (i + 1) + " threads, row " + row);
                }
                assertEquals(trainers[0].stateChecksum(), trainers[i].stateChecksum(), (i + 1) + " threads: state");
            }
        } finally {
            for (int i = 0; i < 3; i++) {
                if (trainers[i] != null) {
                    trainers[i].close();
                }
                if (stores[i] != null) {
                    stores[i].close();
                }
            }
        }
    }
}
