package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A row whose write did not complete (its writer was killed in the middle, or the write failed) has no known content:
 * it stays marked damaged, every consistent read of it fails at once naming it, verify lists it, queries skip it, and
 * it becomes healthy only when it is rewritten.
 */
class DamagedRowsTest {
    private static final int DIM = 8;
    /** Far below the 10 s a reader waits for a live writer: a read that waited instead would take all of it. */
    private static final Duration PROMPTLY = Duration.ofSeconds(8);
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    /** What SIGKILL leaves: a real writer killed while it rewrites a wide row (256 KiB) over and over. */
    @Test
    void aRowTornByAKilledWriterStaysDamagedUntilRewritten() throws Exception {
        Path dir = tmp.resolve("wide");
        int dim = EmbeddingStore.MAX_DIM;
        EmbeddingStore.builder(dir).rows(4).vocabulary(false).dim(dim).init(Init.normal(1)).create().close();
        long seed = Seeds.seed("DamagedRowsTest kill");
        SplittableRandom random = new SplittableRandom(seed);
        int attempts = 0;
        // Nearly all of the child's time is spent inside a write; a kill between two writes is retried.
        while (seq(dir, 2) % 2 == 0) {
            assertTrue(++attempts <= 10, "no kill landed inside a write in 10 attempts");
            try (JavaChild writer = child("write", dir, 2).start()) {
                assertEquals("READY", writer.awaitLine(CHILD_TIMEOUT), "the writer child did not start\n" + writer.describe());
                Thread.sleep(50 + random.nextInt(200));
                writer.kill();
            }
        }
        System.out.println("DamagedRowsTest: killed mid-write after " + attempts + " attempt(s)");

        float[] row = new float[dim];
        try (WritableStore w = EmbeddingStore.openForWriting(dir)) {
            StoreException e = assertTimeoutPreemptively(PROMPTLY, () -> assertThrows(StoreException.class, () -> w.read(2, row)),
                    "the row must stay damaged after a writer opened the store, not be made whole");
            assertDamagedMessage(e, 2);
            w.read(1, row);
            assertArrayEquals(new long[] {2}, w.damagedRows());
            Verification v = w.verify();
            assertEquals(1, v.problems().size(), v.problems().toString());
            assertTrue(v.problems().get(0).contains("row 2 is damaged"), v.problems().toString());

            String reader = readInChild(dir, 2);
            assertTrue(reader.startsWith("ERROR "), reader);
            assertTrue(reader.contains("row 2 is damaged"), "another process's reader must be told the row is damaged"
                    + " (not wait for the live writer): " + reader);

            float[] fresh = new float[dim];
            Arrays.fill(fresh, 0.5f);
            w.write(2, fresh);
            w.read(2, row);
            assertArrayEquals(fresh, row);
            assertArrayEquals(new long[0], w.damagedRows());
            assertTrue(w.verify().ok(), w.verify().toString());
            assertEquals("OK", readInChild(dir, 2));
        }
        assertFalse(Files.exists(dir.resolve(DamagedRows.FILE)), "the mark is gone from the store");
        assertEquals(0, controlLong(dir, ControlBlock.DAMAGED_ROWS_OFFSET));
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            r.read(2, row);
            assertEquals(0.5f, row[dim - 1]);
        }
    }

    /** The same state crafted directly (an odd counter, as a kill leaves it), to check every path that meets the row. */
    @Test
    void everyReadPathRefusesADamagedRowAndQueriesSkipIt() throws Exception {
        Path dir = tmp.resolve("s");
        try (WritableStore w = EmbeddingStore.builder(dir).rows(0).vocabulary(false).dim(DIM).create()) {
            for (int i = 0; i < 10; i++) {
                float[] v = new float[DIM];
                Arrays.fill(v, 1);
                v[i % DIM] = 2 + i;
                w.appendRow(v);
            }
            w.computeNorms();
        }
        long capacity = controlLong(dir, ControlBlock.CAPACITY_OFFSET);
        assertTrue(capacity > 20, "capacity " + capacity);
        putInt(dir.resolve(RowSeqlock.FILE), 5L * Integer.BYTES, 7);
        // Past the live rows: an append that died before it published its row. Nobody can see it; it is reset.
        putInt(dir.resolve(RowSeqlock.FILE), 20L * Integer.BYTES, 3);
        putLong(dir.resolve(EmbeddingStore.CONTROL_FILE), ControlBlock.WRITER_PID_OFFSET, 0);

        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            // Before any writer opened it: the row is half-written by nobody alive.
            StoreException e = assertThrows(StoreException.class, () -> r.read(5, new float[DIM]));
            assertTrue(e.getMessage().contains("row 5 was left half-written") && e.getMessage().contains("write(5, vector)"),
                    e.getMessage());
        }
        float[] row = new float[DIM];
        try (WritableStore w = EmbeddingStore.openForWriting(dir)) {
            assertEquals(0, seq(dir, 20) % 2, "an odd counter past the live rows is reset");
            assertArrayEquals(new long[] {5}, w.damagedRows());
            assertEquals(1, w.damagedRowCount());
            assertEquals(1, controlLong(dir, ControlBlock.DAMAGED_ROWS_OFFSET));
            assertArrayEquals(new long[] {5}, DamagedRows.read(dir));
            assertTimeoutPreemptively(PROMPTLY, () -> {
                assertDamagedMessage(assertThrows(StoreException.class, () -> w.read(5, row)), 5);
                assertDamagedMessage(assertThrows(StoreException.class, () -> w.gather(new int[] {4, 5}, new float[2 * DIM])), 5);
                assertDamagedMessage(assertThrows(StoreException.class,
                        () -> w.gather(new long[] {5}, new float[DIM], ReadMode.CONSISTENT)), 5);
                assertDamagedMessage(assertThrows(StoreException.class, () -> w.requireHealthy(5)), 5);
                w.requireHealthy(4);
                // Queries skip the row, whatever its values: every other row is found, and no query waits on it.
                float[] query = new float[DIM];
                Arrays.fill(query, 1);
                List<Neighbor> all = w.mostSimilar(query, 20, Set.of());
                assertEquals(9, all.size(), all.toString());
                assertTrue(all.stream().noneMatch(n -> n.row() == 5), all.toString());
                // Growth makes the norms stale for the new row; bringing them up to date must step over row 5.
                w.appendRow(query);
                w.computeNorms();
                assertEquals(10, w.mostSimilar(query, 20, Set.of()).size());
            });
            Verification v = w.verify();
            assertEquals(List.of(dir.resolve(DamagedRows.FILE) + ": row 5 is damaged (a write of it did not complete):"
                    + " rewrite it with write(5, vector)"), v.problems());
            // A reader in this process sees the writer's list too, without waiting for the (live) writer.
            try (EmbeddingStore r = EmbeddingStore.open(dir)) {
                assertArrayEquals(new long[] {5}, r.damagedRows());
                assertTimeoutPreemptively(PROMPTLY,
                        () -> assertDamagedMessage(assertThrows(StoreException.class, () -> r.read(5, row)), 5));
            }
        }
        // The mark survives the writer.
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            assertArrayEquals(new long[] {5}, r.damagedRows());
            assertDamagedMessage(assertThrows(StoreException.class, () -> r.read(5, row)), 5);
        }
        try (WritableStore w = EmbeddingStore.openForWriting(dir);
             EmbeddingStore r = EmbeddingStore.open(dir)) {
            assertArrayEquals(new long[] {5}, w.damagedRows());
            assertDamagedMessage(assertThrows(StoreException.class, () -> r.read(5, row)), 5);
            float[] v = {9, 9, 9, 9, 9, 9, 9, 9};
            w.write(5, v);
            w.read(5, row);
            assertArrayEquals(v, row);
            r.read(5, row);
            assertArrayEquals(v, row);
            assertArrayEquals(new long[0], r.damagedRows());
            assertTrue(w.verify().ok(), w.verify().toString());
            assertEquals(5, w.mostSimilar(v, 1, Set.of()).get(0).row());
        }
        assertFalse(Files.exists(dir.resolve(DamagedRows.FILE)));
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            assertTrue(r.verify().ok(), r.verify().toString());
            assertArrayEquals(new long[0], r.damagedRows());
        }
    }

    /**
     * A write that fails in the middle (here a fault in the mapped write: the file was truncated under the mapping) must
     * not leave the row odd and unmarked, where the writer's next reads would wait 10 s and computeNorms spin for ever.
     */
    @Test
    void aWriteThatFaultsLeavesTheRowMarkedDamaged() throws Exception {
        Path dir = tmp.resolve("f");
        try (WritableStore w = EmbeddingStore.builder(dir).rows(64).vocabulary(false).dim(1024).init(Init.normal(2)).create()) {
            w.computeNorms();
            Path matrix = dir.resolve(EmbeddingStore.MATRIX_FILE);
            long size = Files.size(matrix);
            try (FileChannel ch = FileChannel.open(matrix, StandardOpenOption.WRITE)) {
                ch.truncate(NpyHeader.BYTES + 40L * 1024 * Float.BYTES);
            }
            float[] v = new float[1024];
            Arrays.fill(v, 3);
            StoreException e = assertThrows(StoreException.class, () -> w.write(50, v));
            assertTrue(e.getMessage().contains("writing row 50 failed, so the row is damaged"), e.getMessage());
            assertTrue(e.getCause() instanceof InternalError, String.valueOf(e.getCause()));
            try (FileChannel ch = FileChannel.open(matrix, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(1), size - 1);
            }
            assertTimeoutPreemptively(PROMPTLY, () -> {
                assertDamagedMessage(assertThrows(StoreException.class, () -> w.read(50, new float[1024])), 50);
                w.computeNorms();
            });
            assertArrayEquals(new long[] {50}, w.damagedRows());
            assertArrayEquals(new long[] {50}, DamagedRows.read(dir));
            assertEquals("ERROR", readInChild(dir, 50).split(" ")[0]);
            assertTrue(readInChild(dir, 50).contains("row 50 is damaged"));
            w.write(50, v);
            float[] got = new float[1024];
            w.read(50, got);
            assertArrayEquals(v, got);
            assertArrayEquals(new long[0], w.damagedRows());
        }
    }

    private static void assertDamagedMessage(StoreException e, long row) {
        assertTrue(e.getMessage().contains("row " + row + " is damaged") && e.getMessage().contains("write(" + row + ", vector)"),
                e.getMessage());
    }

    private static JavaChild.Spec child(String mode, Path dir, long row) {
        return JavaChild.of(DamagedRowProcesses.class, mode, dir.toString(), Long.toString(row)).name(mode);
    }

    private String readInChild(Path dir, long row) throws Exception {
        return child("read", dir, row).run(CHILD_TIMEOUT).strip();
    }

    private static int seq(Path dir, long row) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve(RowSeqlock.FILE), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, row * Integer.BYTES);
            return b.getInt(0);
        }
    }

    private static long controlLong(Path dir, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve(EmbeddingStore.CONTROL_FILE), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, offset);
            return b.getLong(0);
        }
    }

    private static void putInt(Path file, long offset, int value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), offset);
        }
    }

    private static void putLong(Path file, long offset, long value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value), offset);
        }
    }
}
