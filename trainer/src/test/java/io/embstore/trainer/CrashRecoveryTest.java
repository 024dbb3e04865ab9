package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer.Options;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash test: a child JVM trains continuously and checkpoints every few steps; the parent kills it with SIGKILL
 * ({@link Process#destroyForcibly()}) at a random moment, at least {@link #KILLS} times. After each kill the parent
 * reopens the store and attaches a trainer (which rolls back from the undo log), and checks that the weights, the
 * optimizer state and the step counter hash to what the child reported for its last completed checkpoint (or for the
 * one it was committing, whose commit may have landed before the kill); the next child must start from exactly there.
 *
 * <p>What SIGKILL tests: everything written to the mapping or the files before the kill survives in the page cache, so
 * this exercises the roll-back of rows changed after the last checkpoint, torn steps, kills inside a checkpoint and
 * inside the undo log's writes. It does not pull the power: which pages reach the disk before a power cut is not
 * observable here ({@link PowerLossTest} simulates that). Seeded; the seed is printed.
 */
class CrashRecoveryTest {
    static final Options OPTIONS = Options.adam().learningRate(0.01).threads(2).build();
    static final int KILLS = 22;
    static final int ROWS = 3001;
    static final int DIM = 19;

    @TempDir
    Path tmp;

    @Test
    void killedTrainingAlwaysReopensAtACheckpointAndResumes() throws Exception {
        long seed = Seeds.seed("CrashRecoveryTest");
        SplittableRandom r = new SplittableRandom(seed);
        Path dir = tmp.resolve("crash");
        String expected;
        long expectedSteps;
        try (WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(ROWS).dim(DIM).paddingIndex(0)
                .init(Init.normal(seed)).create(); SparseTrainer t = SparseTrainer.attach(s, OPTIONS)) {
            expected = Long.toHexString(t.stateChecksum());
            expectedSteps = 0;
        }
        int rolledBack = 0;
        int checkpointsSeen = 0;
        int kills = 0;
        int committedUnreported = 0;
        // No time budget for the whole run: how fast a loaded machine gets through the kills says nothing about
        // recovery. Each round is bounded on its own (the child must print its start line within 30 s, a liveness
        // bound; it is killed at most 700 ms later), so the test cannot hang.
        while (kills < KILLS) {
            List<String> lines;
            try (JavaChild child = JavaChild.of(TrainingChild.class, dir.toString(), Long.toString(r.nextLong()),
                    Integer.toString(1 + r.nextInt(6))).name("child-" + kills)
                    .jvm("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1").start()) {
                String start = child.awaitLine(Duration.ofSeconds(30));
                assertEquals("start " + expectedSteps + " " + expected, start, "the child must resume from the checkpoint");
                Thread.sleep(r.nextInt(50, 700));
                child.kill();
                lines = child.stdoutLines();
            }
            kills++;
            // What the child reported: the last completed checkpoint, and one being committed after it, if any.
            List<String> accepted = new ArrayList<>(List.of(expectedSteps + " " + expected));
            for (String line : lines) {
                String[] f = line.split(" ");
                if (f[0].equals("done")) {
                    accepted = new ArrayList<>(List.of(f[2] + " " + f[3]));
                    checkpointsSeen++;
                } else if (f[0].equals("pending")) {
                    accepted.add(f[2] + " " + f[3]);
                }
            }
            boolean undoPending = Files.size(dir.resolve(UndoLog.FILE)) > UndoLog.HEADER_BYTES;
            try (WritableStore s = EmbeddingStore.openForWriting(dir); SparseTrainer t = SparseTrainer.attach(s, OPTIONS)) {
                String got = t.steps() + " " + Long.toHexString(t.stateChecksum());
                assertTrue(accepted.contains(got), "after kill " + kills + " the store holds " + got
                        + ", the child's last checkpoint(s) were " + accepted);
                if (undoPending) {
                    rolledBack++;
                }
                if (accepted.size() > 1 && got.equals(accepted.getLast())) {
                    committedUnreported++;
                }
                expectedSteps = t.steps();
                expected = Long.toHexString(t.stateChecksum());
                assertTrue(s.verify().ok(), s.verify().problems().toString());
            }
        }
        System.out.println("CrashRecoveryTest: " + kills + " kills, " + checkpointsSeen + " checkpoints reported, "
                + rolledBack + " reopens rolled rows back from the undo log, " + committedUnreported
                + " kills between a commit and its report, final step " + expectedSteps);
        assertTrue(rolledBack >= KILLS / 2, "most kills should land between checkpoints: " + rolledBack);
        assertTrue(expectedSteps > 0, "training made progress across the kills");
    }
}
