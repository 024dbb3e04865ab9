package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.Seeds;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.store.io.NpyHeader;
import io.embstore.store.io.TempSibling;
import io.embstore.trainer.SimulatedDisk.Event;
import io.embstore.trainer.SimulatedDisk.Kind;
import io.embstore.trainer.SparseTrainer.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.roaringbitmap.RoaringBitmap;

/**
 * Durability against a power cut, which {@link CrashRecoveryTest}'s SIGKILL cannot see (the page cache survives a
 * killed process, so a missing force changes nothing there). Every force of the trainer goes through a
 * {@link SimulatedDisk}: the first test checks the order recovery relies on (a step forces the undo log after appending
 * its newly dirty rows' pre-images and before changing any of them, once, and never when no row is newly dirty; a
 * checkpoint forces the dirty rows' pages of the matrix and of every state array before its record is forced and
 * renamed), the second cuts the power before every force and after every step and checkpoint, keeps only what the
 * forces made durable (and, adversarially, every page of the mapped arrays but nothing of the log; or random pages),
 * and checks that attach restores the last checkpoint bit for bit. Seeded; the seed is printed.
 */
class PowerLossTest {
    static final int ROWS = 600;
    static final int DIM = 13;
    static final long PADDING = 3;
    static final int STEPS = 60;
    /** Steps of the power-cut test: each moment is cut three ways and recovered, about 25 ms each. */
    static final int CUT_STEPS = 42;
    static final Options OPTIONS = Options.adam().learningRate(0.01).threads(2).build();
    /** State files forced at a checkpoint, with the bytes of one row. */
    static final List<String> STATE_FILES = List.of(OptimizerState.M_FILE, OptimizerState.V_FILE, OptimizerState.ROWS_FILE);
    static final List<Integer> STATE_ROW_BYTES = List.of(4 * DIM, 4 * DIM, OptimizerState.COUNTER_BYTES);

    @TempDir
    Path tmp;

    /** A store that was created and closed: its files are durable, where the simulated disk starts. */
    private Path newStore(String name, long seed) {
        Path dir = tmp.resolve(name);
        EmbeddingStore.builder(dir).vocabulary(false).rows(ROWS).dim(DIM).paddingIndex(PADDING).init(Init.normal(seed))
                .create().close();
        return dir;
    }

    /**
     * The ids of a step: mostly random rows with duplicates and the padding row, but also steps whose rows are all
     * dirty already, empty steps and padding-only steps (none of which may force the log).
     */
    private static int[] ids(SplittableRandom r, Set<Integer> dirty) {
        int kind = r.nextInt(10);
        if (kind == 0) {
            return new int[0];
        }
        if (kind == 1) {
            return new int[] {(int) PADDING, (int) PADDING};
        }
        if (kind <= 3 && !dirty.isEmpty()) {
            Integer[] old = dirty.toArray(Integer[]::new);
            int[] ids = new int[r.nextInt(1, 30)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = old[r.nextInt(old.length)];
            }
            return ids;
        }
        return SparseTrainerTest.ids(r, r.nextInt(1, 40), ROWS);
    }

    private static float[] grads(SplittableRandom r, int n) {
        float[] g = new float[n * DIM];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) (r.nextGaussian() * 0.5);
        }
        return g;
    }

    private static Set<Integer> newlyDirty(int[] ids, Set<Integer> dirty) {
        Set<Integer> out = new TreeSet<>();
        for (int id : ids) {
            if (id != PADDING && !dirty.contains(id)) {
                out.add(id);
            }
        }
        return out;
    }

    private static byte[] slice(byte[] file, long at, int length) {
        return Arrays.copyOfRange(file, (int) at, (int) at + length);
    }

    @Test
    void aStepForcesItsPreImagesBeforeItsRowsChangeAndACheckpointForcesTheRowsBeforeItsRecord() throws IOException {
        long seed = Seeds.seed("PowerLossTest.forceOrder");
        SplittableRandom r = new SplittableRandom(seed);
        Path dir = newStore("order", seed);
        SimulatedDisk disk = new SimulatedDisk(dir);
        Path undoFile = dir.resolve(UndoLog.FILE);
        int rb = UndoLog.recordBytes(DIM, 2 * DIM);
        try (WritableStore s = EmbeddingStore.openForWriting(dir); SparseTrainer t = SparseTrainer.attach(s, OPTIONS, disk)) {
            long matrixHeader = SimulatedDisk.matrixHeaderBytes(dir.resolve("matrix.npy"));
            Set<Integer> dirty = new TreeSet<>();
            int checkpoints = 0;
            int stepsForcing = 0;
            int stepsNotForcing = 0;
            long undoForced = UndoLog.HEADER_BYTES; // the log's length at its last force
            for (int step = 0; step < STEPS; step++) {
                int[] ids = ids(r, dirty);
                Set<Integer> expected = newlyDirty(ids, dirty);
                long forcedBefore = undoForced;
                long[] undoForcedAt = {-1};
                List<Event> seen = new ArrayList<>();
                disk.beforeForce = e -> {
                    seen.add(e);
                    if (e.kind() != Kind.FILE || !e.file().equals(UndoLog.FILE)) {
                        return;
                    }
                    // The pre-images are in the log, and none of their rows has changed yet.
                    byte[] log = SimulatedDisk.read(undoFile);
                    byte[] m = SimulatedDisk.read(dir.resolve(OptimizerState.M_FILE));
                    byte[] v = SimulatedDisk.read(dir.resolve(OptimizerState.V_FILE));
                    byte[] counters = SimulatedDisk.read(dir.resolve(OptimizerState.ROWS_FILE));
                    ByteBuffer b = ByteBuffer.wrap(log).order(ByteOrder.LITTLE_ENDIAN);
                    Set<Integer> logged = new TreeSet<>();
                    for (long at = forcedBefore; at + rb <= log.length; at += rb) {
                        int row = (int) b.getLong((int) at + UndoLog.ROW_OFFSET);
                        logged.add(row);
                        long w = at + UndoLog.WEIGHTS_OFFSET;
                        assertArrayEquals(slice(log, w, 4 * DIM), SparseTrainerTest.rowBytes(s, row),
                                "row " + row + " changed before its pre-image was forced");
                        assertArrayEquals(slice(log, w + 4 * DIM, 4 * DIM), slice(m, NpyHeader.BYTES + (long) row * 4 * DIM, 4 * DIM),
                                "m of row " + row + " changed before its pre-image was forced");
                        assertArrayEquals(slice(log, w + 8 * DIM, 4 * DIM), slice(v, NpyHeader.BYTES + (long) row * 4 * DIM, 4 * DIM),
                                "v of row " + row + " changed before its pre-image was forced");
                        assertArrayEquals(slice(log, at + UndoLog.COUNT_OFFSET, 16),
                                slice(counters, NpyHeader.BYTES + (long) row * OptimizerState.COUNTER_BYTES, 16),
                                "the counters of row " + row + " changed before its pre-image was forced");
                    }
                    assertEquals(expected, logged, "the records appended since the log's last force");
                    undoForcedAt[0] = log.length;
                };
                t.step(ids, grads(r, ids.length));
                if (expected.isEmpty()) {
                    assertEquals(List.of(), seen, "a step with no newly dirty row forces nothing: ids " + Arrays.toString(ids));
                    stepsNotForcing++;
                } else {
                    assertEquals(List.of(new Event(Kind.FILE, UndoLog.FILE, 0, undoForcedAt[0])), seen,
                            "a step with newly dirty rows forces the undo log once: ids " + Arrays.toString(ids));
                    undoForced = undoForcedAt[0];
                    stepsForcing++;
                }
                dirty.addAll(expected);

                if (step % 9 == 8 || step == STEPS - 1) {
                    RoaringBitmap model = new RoaringBitmap();
                    dirty.forEach(model::add);
                    assertEquals(model, t.dirtyRows(), "the test's account of the dirty rows");
                    long epoch = CheckpointRecord.read(dir).epoch;
                    List<Event> forced = new ArrayList<>();
                    boolean[] recordForced = {false};
                    disk.beforeForce = e -> {
                        if (e.kind() == Kind.FILE && TempSibling.isTempOf(Path.of(e.file()), dir.resolve(CheckpointRecord.FILE))) {
                            // Every dirty row's bytes, in the matrix and each state array, were forced before.
                            for (int row : dirty) {
                                long rowBytes = 4L * DIM;
                                assertTrue(covered(forced, Kind.ROWS, "matrix.npy", matrixHeader + row * rowBytes, rowBytes),
                                        "row " + row + " of the matrix was not forced before the checkpoint record");
                                for (int i = 0; i < STATE_FILES.size(); i++) {
                                    int bytes = STATE_ROW_BYTES.get(i);
                                    assertTrue(covered(forced, Kind.MAPPED, STATE_FILES.get(i), NpyHeader.BYTES + (long) row * bytes, bytes),
                                            "row " + row + " of " + STATE_FILES.get(i) + " was not forced before the checkpoint record");
                                }
                            }
                            assertEquals(epoch, CheckpointRecord.read(dir).epoch, "the record was renamed before it was forced");
                            recordForced[0] = true;
                        }
                        assertTrue(!e.file().equals(UndoLog.FILE), "a checkpoint does not force the undo log: " + e);
                        forced.add(e);
                    };
                    t.checkpoint();
                    assertTrue(recordForced[0], "the checkpoint forced its record");
                    assertEquals(new Event(Kind.DIRECTORY, ".", 0, 0), forced.getLast(), "the rename is made durable last");
                    assertEquals(epoch + 1, CheckpointRecord.read(dir).epoch);
                    dirty.clear();
                    undoForced = UndoLog.HEADER_BYTES;
                    checkpoints++;
                }
            }
            disk.beforeForce = e -> { };
            assertTrue(stepsForcing > STEPS / 3 && stepsNotForcing > STEPS / 10,
                    "the steps exercised both cases: " + stepsForcing + " forcing, " + stepsNotForcing + " not");
            System.out.println("PowerLossTest: " + stepsForcing + " steps forced the log once, " + stepsNotForcing
                    + " had no newly dirty row and forced nothing, " + checkpoints + " checkpoints");
        }
    }

    /** Whether one of {@code events} of {@code kind} on {@code file} forced all of {@code [offset, offset + length)}. */
    private static boolean covered(List<Event> events, Kind kind, String file, long offset, long length) {
        for (Event e : events) {
            if (e.kind() == kind && e.file().equals(file) && e.offset() <= offset && offset + length <= e.offset() + e.length()) {
                return true;
            }
        }
        return false;
    }

    /** A power-cut image, the checkpoints committed when it was taken, and whether a checkpoint was being made. */
    record Capture(SimulatedDisk.Image image, int committed, boolean inCheckpoint) {
    }

    @Test
    void aPowerCutBeforeAnyForceLeavesTheLastCheckpointBitForBit() throws IOException {
        long seed = Seeds.seed("PowerLossTest.powerCut");
        SplittableRandom r = new SplittableRandom(seed);
        Path dir = newStore("cut", seed);
        SimulatedDisk disk = new SimulatedDisk(dir);
        List<String> checkpoints = new ArrayList<>(); // entry i: "t checksum" of the state committed by checkpoint i
        List<Capture> captures = new ArrayList<>();
        try (WritableStore s = EmbeddingStore.openForWriting(dir); SparseTrainer t = SparseTrainer.attach(s, OPTIONS, disk)) {
            checkpoints.add(state(t));
            Set<Integer> dirty = new TreeSet<>();
            boolean[] inCheckpoint = {false};
            disk.beforeForce = e -> captures.add(new Capture(disk.image("before " + e + " after checkpoint "
                    + (checkpoints.size() - 1)), checkpoints.size() - 1, inCheckpoint[0]));
            for (int step = 0; step < CUT_STEPS; step++) {
                int[] ids = ids(r, dirty);
                dirty.addAll(newlyDirty(ids, dirty));
                t.step(ids, grads(r, ids.length));
                captures.add(new Capture(disk.image("after step " + step), checkpoints.size() - 1, false));
                if (step % 7 == 6) {
                    inCheckpoint[0] = true;
                    t.checkpoint();
                    inCheckpoint[0] = false;
                    checkpoints.add(state(t));
                    dirty.clear();
                    captures.add(new Capture(disk.image("after checkpoint " + (checkpoints.size() - 1)),
                            checkpoints.size() - 1, false));
                }
            }
            disk.beforeForce = e -> { };
        }
        Options one = OPTIONS.toBuilder().threads(1).build();
        int n = 0;
        int rolledBack = 0;
        for (Capture c : captures) {
            for (SimulatedDisk.Loss loss : SimulatedDisk.Loss.values()) {
                Path crash = tmp.resolve("power-cut-" + n);
                c.image().materialize(crash, loss, seed + n);
                n++;
                List<String> accepted = c.inCheckpoint() ? checkpoints.subList(c.committed(), c.committed() + 2)
                        : List.of(checkpoints.get(c.committed()));
                boolean undoRecords = Files.size(crash.resolve(UndoLog.FILE)) > UndoLog.HEADER_BYTES;
                // Recovery's own forces are not under test here, and would cost most of the run.
                try (WritableStore s = EmbeddingStore.openForWriting(crash);
                     SparseTrainer t = SparseTrainer.attach(s, one, NO_FORCES)) {
                    String got = state(t);
                    assertTrue(accepted.contains(got), "power cut " + c.image().label() + ", " + loss + ": attach gave "
                            + got + ", expected " + accepted + " (seed " + seed + ")");
                }
                if (undoRecords) {
                    rolledBack++;
                }
                deleteTree(crash);
            }
        }
        System.out.println("PowerLossTest: " + n + " power cuts (" + captures.size() + " moments x "
                + SimulatedDisk.Loss.values().length + " loss policies), " + rolledBack + " with undo records, "
                + (checkpoints.size() - 1) + " checkpoints");
        assertTrue(rolledBack > captures.size(), "most power cuts fell between checkpoints with rows to roll back: " + rolledBack);
    }

    /** Forces nothing: for the recoveries checked, whose images are thrown away. */
    static final Durability NO_FORCES = new Durability() {
        @Override
        public void force(Path file, java.nio.channels.FileChannel channel, boolean metaData) {
        }

        @Override
        public void force(Path file, java.lang.foreign.MemorySegment mapping, long offset, long length) {
        }

        @Override
        public void forceRows(WritableStore store, long fromRow, long toRow) {
        }

        @Override
        public void forceDirectory(Path dir) {
        }
    };

    private static String state(SparseTrainer t) {
        return t.steps() + " " + Long.toHexString(t.stateChecksum());
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
