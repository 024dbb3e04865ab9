package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.WritableStore;
import io.embstore.store.io.MajorFaults;
import io.embstore.store.io.MappingAdvice;
import io.embstore.testkit.Seeds;
import io.embstore.trainer.SparseTrainer.Algorithm;
import io.embstore.trainer.SparseTrainer.Options;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Steps that ask for their rows ahead ({@link StepAhead}) write exactly the bytes of steps that do not, and a cold
 * table (its files evicted from the page cache) turns the asking on by itself. Randomised; seeds printed.
 */
class StepAheadTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void askingAheadChangesNoByte(Algorithm algorithm) {
        long seed = Seeds.seed("askingAhead " + algorithm);
        for (Dtype dtype : new Dtype[] {Dtype.F32, Dtype.F16}) {
            for (int threads = 1; threads <= 2; threads++) {
                Options options = SparseTrainerTest.options(algorithm).threads(threads).weightDecay(0.01).build();
                byte[][][] rows = new byte[StepAhead.Mode.values().length][][];
                long[] checksums = new long[rows.length];
                for (StepAhead.Mode mode : new StepAhead.Mode[] {StepAhead.Mode.NEVER, StepAhead.Mode.ALWAYS}) {
                    SplittableRandom r = new SplittableRandom(seed);
                    Path dir = tmp.resolve(algorithm + "-" + dtype + "-" + threads + "-" + mode);
                    try (WritableStore s = SparseTrainerTest.newStore(dir, 11, dtype);
                         SparseTrainer trainer = SparseTrainer.attach(s, options)) {
                        trainer.askAhead(mode);
                        for (int step = 0; step < 12; step++) {
                            int[] ids = SparseTrainerTest.ids(r, 150, SparseTrainerTest.ROWS);
                            trainer.step(ids, SparseTrainerTest.grads(r, ids.length));
                        }
                        assertEquals(mode == StepAhead.Mode.ALWAYS ? 12 : 0, trainer.stepsAskedAhead(), mode.name());
                        rows[mode.ordinal()] = SparseTrainerTest.snapshot(s);
                        checksums[mode.ordinal()] = trainer.stateChecksum();
                    }
                }
                int never = StepAhead.Mode.NEVER.ordinal();
                int always = StepAhead.Mode.ALWAYS.ordinal();
                for (int row = 0; row < rows[never].length; row++) {
                    assertArrayEquals(rows[never][row], rows[always][row], dtype + ", " + threads + " threads, row " + row);
                }
                assertEquals(checksums[never], checksums[always], dtype + ", " + threads + " threads: weights and state");
            }
        }
    }

    /**
     * Rows of one page each (1024 x f32), weights and Adam's state on the disk and evicted: the first steps fault
     * every row in from the disk, one page at a time, which the trainer must notice (slow steps with major faults)
     * and answer by asking ahead; and the table it trains is the one a trainer that never asks trains.
     */
    @Test
    void aColdTableTurnsAskingOnAndTrainsTheSameBytes() throws Exception {
        assumeTrue(MappingAdvice.available() && MajorFaults.ofThisThread() >= 0,
                "madvise and getrusage(RUSAGE_THREAD) are unavailable here (not Linux)");
        long seed = Seeds.seed("coldTable");
        int rows = 4096;
        int dim = 1024;
        Options options = Options.adam().learningRate(0.01).threads(2).build();
        long[] checksums = new long[StepAhead.Mode.values().length];
        long[] asked = new long[checksums.length];
        for (StepAhead.Mode mode : new StepAhead.Mode[] {StepAhead.Mode.NEVER, StepAhead.Mode.AUTO}) {
            Path dir = tmp.resolve(mode.name());
            SplittableRandom r = new SplittableRandom(seed);
            try (WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(rows).dim(dim)
                    .init(Init.normal(seed)).create();
                 SparseTrainer trainer = SparseTrainer.attach(s, options)) {
                // Every row once, so that the state files hold blocks on the disk rather than holes (a hole's page is
                // zero-filled without a read); close() checkpoints, which forces them.
                int[] all = new int[rows];
                for (int i = 0; i < rows; i++) {
                    all[i] = i;
                }
                trainer.step(all, grads(r, rows, dim));
            }
            evict(dir);
            try (WritableStore s = EmbeddingStore.openForWriting(dir);
                 SparseTrainer trainer = SparseTrainer.attach(s, options)) {
                trainer.askAhead(mode);
                for (int step = 0; step < 8; step++) {
                    int[] ids = new int[512];
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = r.nextInt(rows);
                    }
                    trainer.step(ids, grads(r, ids.length, dim));
                }
                asked[mode.ordinal()] = trainer.stepsAskedAhead();
                checksums[mode.ordinal()] = trainer.stateChecksum();
            }
        }
        System.out.println("cold table: " + asked[StepAhead.Mode.AUTO.ordinal()] + " of 8 steps asked ahead");
        assertEquals(0, asked[StepAhead.Mode.NEVER.ordinal()]);
        assertTrue(asked[StepAhead.Mode.AUTO.ordinal()] >= 1, "steps over an evicted table asked ahead: "
                + asked[StepAhead.Mode.AUTO.ordinal()] + " of 8");
        assertEquals(checksums[StepAhead.Mode.NEVER.ordinal()], checksums[StepAhead.Mode.AUTO.ordinal()], "the same weights and state with and without asking ahead");
    }

    static float[] grads(SplittableRandom r, int n, int dim) {
        float[] g = new float[n * dim];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) r.nextGaussian();
        }
        return g;
    }

    /** Evicts the store's files from the page cache (POSIX_FADV_DONTNEED, through GNU dd), as after a reboot. */
    static void evict(Path dir) throws IOException, InterruptedException {
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(Files::isRegularFile).toList();
        }
        new ProcessBuilder("sync").inheritIO().start().waitFor();
        for (Path file : files) {
            Process dd = new ProcessBuilder("dd", "if=" + file, "iflag=nocache", "count=0", "status=none")
                    .inheritIO().start();
            assumeTrue(dd.waitFor() == 0, "dd iflag=nocache is unavailable");
        }
    }
}
