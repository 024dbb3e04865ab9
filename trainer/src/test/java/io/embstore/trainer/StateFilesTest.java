package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import io.embstore.testkit.Seeds;
import io.embstore.store.WritableStore;
import io.embstore.store.Dtype;
import io.embstore.trainer.SparseTrainer.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state files on disk: what attach refuses (each message naming the file), what a state without optim.meta means,
 * and an in-process crash (the store closed under a trainer that never checkpointed its last steps) rolled back exactly.
 */
class StateFilesTest {
    @TempDir
    Path tmp;

    private Path trainedStore(String name) {
        Path dir = tmp.resolve(name);
        SplittableRandom r = new SplittableRandom(1);
        try (EmbeddingStore s = SparseTrainerTest.newStore(dir, 2, Dtype.F32);
             SparseTrainer t = SparseTrainer.attach(s, Options.adam().build())) {
            int[] ids = SparseTrainerTest.ids(r, 40, SparseTrainerTest.ROWS);
            t.step(ids, SparseTrainerTest.grads(r, ids.length));
        }
        return dir;
    }

    private static void overwrite(Path file, long at, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), at);
        }
    }

    private static String attachFailure(Path dir, Options o) {
        try (WritableStore s = EmbeddingStore.openForWriting(dir)) {
            return assertThrows(StoreException.class, () -> SparseTrainer.attach(s, o)).getMessage();
        }
    }

    @Test
    void damagedOrMismatchedFilesAreRefusedNamingTheFile() throws IOException {
        Path dir = trainedStore("a");
        String msg = attachFailure(dir, Options.sgd().build());
        assertTrue(msg.contains(OptimizerState.META_FILE) && msg.contains("algorithm=adam"), msg);

        overwrite(dir.resolve(OptimizerState.M_FILE), 0, "garbage!".getBytes());
        msg = attachFailure(dir, Options.adam().build());
        assertTrue(msg.contains(OptimizerState.M_FILE) && msg.contains("magic"), msg);

        dir = trainedStore("b");
        try (FileChannel ch = FileChannel.open(dir.resolve(OptimizerState.V_FILE), StandardOpenOption.WRITE)) {
            ch.truncate(5000);
        }
        msg = attachFailure(dir, Options.adam().build());
        assertTrue(msg.contains(OptimizerState.V_FILE) && msg.contains("truncated"), msg);

        dir = trainedStore("c");
        overwrite(dir.resolve(CheckpointRecord.FILE), 24, new byte[] {9});
        msg = attachFailure(dir, Options.adam().build());
        assertTrue(msg.contains(CheckpointRecord.FILE) && msg.contains("CRC"), msg);

        dir = trainedStore("d");
        overwrite(dir.resolve(UndoLog.FILE), 0, "EMBSXXXX".getBytes());
        msg = attachFailure(dir, Options.adam().build());
        assertTrue(msg.contains(UndoLog.FILE), msg);

        dir = trainedStore("e");
        Files.delete(dir.resolve(OptimizerState.ROWS_FILE));
        msg = attachFailure(dir, Options.adam().build());
        assertTrue(msg.contains(OptimizerState.ROWS_FILE) && msg.contains("missing"), msg);
    }

    /**
     * Damage is the store's {@link StoreException} of kind CORRUPT, naming the file, so a caller decides by kind (the
     * CLI's exit code) as it does for the store's own files; a file that cannot be read at all is kind IO.
     */
    @Test
    void damagedRecordsAndTruncatedStateFilesAreCorruptAndAFileThatCannotBeReadIsIo() throws IOException {
        Path dir = trainedStore("k1");
        Path record = dir.resolve(CheckpointRecord.FILE);
        overwrite(record, 24, new byte[] {9});
        assertKind(dir, StoreException.Kind.CORRUPT, record, "CRC");
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> SparseTrainer.changedSince(s, 0));
            assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage());
        }

        dir = trainedStore("k2");
        Path m = dir.resolve(OptimizerState.M_FILE);
        try (FileChannel ch = FileChannel.open(m, StandardOpenOption.WRITE)) {
            ch.truncate(100); // inside the header
        }
        assertKind(dir, StoreException.Kind.CORRUPT, m, "truncated");

        dir = trainedStore("k3");
        Path v = dir.resolve(OptimizerState.V_FILE);
        try (FileChannel ch = FileChannel.open(v, StandardOpenOption.WRITE)) {
            ch.truncate(5000); // inside the rows
        }
        assertKind(dir, StoreException.Kind.CORRUPT, v, "truncated");

        dir = trainedStore("k4");
        record = dir.resolve(CheckpointRecord.FILE);
        Files.delete(record);
        Files.createDirectory(record); // read(2) fails: EISDIR
        assertKind(dir, StoreException.Kind.IO, record, "cannot read");
    }

    private static void assertKind(Path dir, StoreException.Kind kind, Path file, String says) {
        try (WritableStore s = EmbeddingStore.openForWriting(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> SparseTrainer.attach(s, Options.adam().build()));
            assertEquals(kind, e.kind(), e.getMessage());
            assertEquals(file, e.path(), e.getMessage());
            assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().contains(says), e.getMessage());
        }
    }

    /**
     * The first 4096 bytes of each state file, byte for byte: NumPy 1.0 magic, header length 4086 little-endian, the
     * dictionary, spaces, a newline; row 0 at 4096. {@code np.load(f, mmap_mode="r")} depends on every one of them.
     */
    @Test
    void stateFileHeadersAreExactlyTheseBytes() throws IOException {
        long rows = SparseTrainerTest.ROWS;
        int dim = SparseTrainerTest.DIM;
        Path dir = trainedStore("h1");
        assertHeader(dir.resolve(OptimizerState.M_FILE), "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows
                + ", " + dim + "), }");
        assertHeader(dir.resolve(OptimizerState.V_FILE), "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows
                + ", " + dim + "), }");
        assertHeader(dir.resolve(OptimizerState.ROWS_FILE), "{'descr': '<i8', 'fortran_order': False, 'shape': (" + rows
                + ", 2), }");
        dir = tmp.resolve("h2");
        try (EmbeddingStore s = SparseTrainerTest.newStore(dir, 2, Dtype.F32);
             SparseTrainer t = SparseTrainer.attach(s, Options.rowwiseAdagrad().build())) {
            t.step(new int[] {3}, new float[dim]);
        }
        assertHeader(dir.resolve(OptimizerState.ACC_FILE), "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows
                + ",), }");
    }

    private static void assertHeader(Path file, String dictionary) throws IOException {
        byte[] expected = new byte[4096];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) (4086 & 0xff), (byte) (4086 >> 8)};
        System.arraycopy(magic, 0, expected, 0, magic.length);
        byte[] d = dictionary.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(d, 0, expected, 10, d.length);
        Arrays.fill(expected, 10 + d.length, 4095, (byte) ' ');
        expected[4095] = '\n';
        byte[] actual = Arrays.copyOf(Files.readAllBytes(file), 4096);
        assertArrayEquals(expected, actual, file + ": " + new String(actual, 0, 80,
                StandardCharsets.ISO_8859_1));
    }

    /** optim.meta that is not UTF-8 (a flipped bit in a name) is damage like any other: the documented exception. */
    @Test
    void metaThatIsNotUtf8IsRefusedNamingTheFile() throws IOException {
        Path dir = trainedStore("u");
        Path meta = dir.resolve(OptimizerState.META_FILE);
        byte[] bytes = Files.readAllBytes(meta);
        bytes[bytes.length - 2] = (byte) 0xff;
        Files.write(meta, bytes);
        String msg = attachFailure(dir, Options.adam().build());
        assertTrue(msg.contains(OptimizerState.META_FILE) && msg.contains("UTF-8"), msg);
    }

    @Test
    void withoutMetaTheStateIsBuiltAgain() throws IOException {
        Path dir = trainedStore("m");
        Files.delete(dir.resolve(OptimizerState.META_FILE));
        try (WritableStore s = EmbeddingStore.openForWriting(dir);
             SparseTrainer t = SparseTrainer.attach(s, Options.sgd().build())) {
            assertEquals(0, t.steps());
            assertFalse(Files.exists(dir.resolve(OptimizerState.M_FILE)), "adam's leftovers are deleted");
        }
    }

    @Test
    void aStoreClosedUnderATrainerRollsBackToTheLastCheckpoint() throws IOException {
        long seed = Seeds.seed("inProcessCrash");
        SplittableRandom r = new SplittableRandom(seed);
        Path dir = tmp.resolve("crash");
        long atCheckpoint = 0;
        EmbeddingStore s = SparseTrainerTest.newStore(dir, 3, Dtype.F16);
        SparseTrainer t = SparseTrainer.attach(s, Options.adam().weightDecay(0.01).perRowBiasCorrection(true).build());
        for (int i = 0; i < 12; i++) {
            int[] ids = SparseTrainerTest.ids(r, 50, SparseTrainerTest.ROWS);
            t.step(ids, SparseTrainerTest.grads(r, ids.length));
            if (i == 7) {
                t.checkpoint();
                atCheckpoint = t.stateChecksum();
            }
        }
        assertTrue(t.stateChecksum() != atCheckpoint);
        s.close(); // the trainer never closes: its last four steps are after the checkpoint, as in a crash
        assertTrue(Files.size(dir.resolve(UndoLog.FILE)) > UndoLog.HEADER_BYTES);
        try (WritableStore again = EmbeddingStore.openForWriting(dir);
             SparseTrainer resumed = SparseTrainer.attach(again, Options.adam().build())) {
            assertEquals(8, resumed.steps());
            assertEquals(atCheckpoint, resumed.stateChecksum(), "weights (f16), moments, counters and t as checkpointed");
            assertEquals(UndoLog.HEADER_BYTES, Files.size(dir.resolve(UndoLog.FILE)), "the roll-back retires the log");
        }
    }
}
