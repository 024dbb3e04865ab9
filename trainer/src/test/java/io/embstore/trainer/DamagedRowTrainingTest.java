package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.store.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trainer meets damaged rows (rows whose write did not complete): the roll-back at attach rewrites those a crashed
 * step left, which makes them healthy; a step on one it did not restore fails clearly instead of training garbage.
 */
class DamagedRowTrainingTest {
    static final int ROWS = 50;
    static final int DIM = 7;

    @TempDir
    Path tmp;

    @Test
    void attachRestoresTheRowsACrashedStepLeftAndAStepRefusesAnyOtherDamagedRow() throws IOException {
        Path dir = tmp.resolve("live");
        Path crash = tmp.resolve("crash");
        float[] before3 = new float[DIM];
        float[] before1 = new float[DIM];
        try (WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(ROWS).dim(DIM).init(Init.normal(3)).create();
             SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.adam().learningRate(0.1).threads(1).build())) {
            s.read(3, before3);
            s.read(1, before1);
            assertEquals(1, t.step(new long[] {3, 4}, grads(2)));
            // What a SIGKILL would leave on disk now (the page cache is shared, so a copy reads it): rows 3 and 4
            // changed after the checkpoint, their pre-images in the undo log. A kill inside the write of row 3 leaves
            // its counter odd; row 10 odd as well, as a plain write that died would leave it (not in the undo log).
            copy(dir, crash);
        }
        setSeq(crash, 3, 11);
        setSeq(crash, 10, 5);
        try (WritableStore s = EmbeddingStore.openForWriting(crash)) {
            assertArrayEquals(new long[] {3, 10}, s.damagedRows());
            try (SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.adam().learningRate(0.1).threads(1).build())) {
                assertArrayEquals(new long[] {10}, s.damagedRows(), "the roll-back rewrote row 3, which makes it healthy");
                float[] row = new float[DIM];
                s.read(3, row);
                assertArrayEquals(before3, row, "row 3 is its pre-image");

                StoreException e = assertThrows(StoreException.class, () -> t.step(new long[] {1, 10}, grads(2)));
                assertTrue(e.getMessage().contains("row 10 is damaged"), e.getMessage());
                s.read(1, row);
                assertArrayEquals(before1, row, "a refused step changes nothing");
                assertEquals(1, t.step(new long[] {1, 2}, grads(2)), "a refused step does not count");

                s.write(10, new float[DIM]);
                assertArrayEquals(new long[0], s.damagedRows());
                assertEquals(2, t.step(new long[] {10}, grads(1)));
            }
        }
    }

    private static float[] grads(int n) {
        float[] g = new float[n * DIM];
        for (int i = 0; i < g.length; i++) {
            g[i] = 0.25f * (i % 5 - 2);
        }
        return g;
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectory(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static void setSeq(Path dir, long row, int value) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve("rows.seq"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), row * 4);
        }
    }
}
