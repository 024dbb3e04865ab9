package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.SmallTmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Verification;
import io.embstore.store.Init;
import io.embstore.store.StoreException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training on a file system that runs out of space (a 20 MB tmpfs): the optimizer state of rows added to the table
 * cannot get blocks. The step fails with the store's "no space left on device", changes nothing, and trains again
 * once space is freed; never the JVM's fault of a write through a mapping.
 */
class TrainerDiskFullTest {
    @TempDir
    Path tmp;

    private static float[] grads(int rows, int dim) {
        float[] g = new float[rows * dim];
        for (int i = 0; i < g.length; i++) {
            g[i] = (i % 7 - 3) / 10f;
        }
        return g;
    }

    /** The undo log cannot take a step's pre-images: the step fails with no space before any row changes. */
    @Test
    void aStepWhoseUndoRecordsDoNotFitFailsWithNoSpaceAndChangesNothing() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            Path dir = fs.dir().resolve("t");
            Path ballast = fs.dir().resolve("ballast");
            int dim = 128;
            try (WritableStore s = EmbeddingStore.builder(dir).rows(1000).dim(dim).vocabulary(false)
                    .init(Init.normal(1)).create();
                 SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.adam().learningRate(0.01).threads(1).build())) {
                t.step(new long[] {0, 1}, grads(2, dim));
                t.checkpoint();
                SmallTmpfs.fillUp(ballast);
                float[] before = new float[dim];
                s.read(5, before);
                long steps = t.steps();
                // 20 pre-images of 1.5 KB: more than the undo log's last page has room for.
                long[] ids = java.util.stream.LongStream.range(5, 25).toArray();
                StoreException e = assertThrows(StoreException.class, () -> t.step(ids, grads(ids.length, dim)));
                assertTrue(e.getMessage().contains("no space left on device"), e.getMessage());
                assertTrue(e.getMessage().contains("optim.undo"), e.getMessage());
                assertEquals(steps, t.steps());
                float[] after = new float[dim];
                s.read(5, after);
                assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(after), "the row is unchanged");
                Files.delete(ballast);
                t.step(ids, grads(ids.length, dim));
                s.read(5, after);
                assertTrue(after[0] != before[0], "trained once there was space");
            }
        }
    }

    @Test
    void aStepWhoseStateCannotGrowFailsWithNoSpaceAndChangesNothing() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            Path dir = fs.dir().resolve("t");
            Path ballast = fs.dir().resolve("ballast");
            int dim = 128;
            try (WritableStore s = EmbeddingStore.builder(dir).rows(1000).dim(dim).vocabulary(false)
                    .init(Init.normal(1)).create();
                 SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.adam().learningRate(0.01).threads(1).build())) {
                t.step(new long[] {0, 1, 2}, grads(3, dim));
                float[] row = new float[dim];
                for (int i = 0; i < 3000; i++) {
                    s.appendRow(row);
                }
                // Nothing is left for the state of 3000 more rows (3 MB of Adam moments), nor for the undo log.
                SmallTmpfs.fillUp(ballast);
                long[] newRows = {3500, 3999};
                float[] before = new float[dim];
                s.read(3500, before);
                long steps = t.steps();
                StoreException e = assertThrows(StoreException.class, () -> t.step(newRows, grads(2, dim)));
                assertTrue(e.getMessage().contains("no space left on device"), e.getMessage());
                assertEquals(steps, t.steps(), "the failed step counted no step");
                float[] after = new float[dim];
                s.read(3500, after);
                assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(after), "the row is unchanged");

                Files.delete(ballast);
                t.step(newRows, grads(2, dim));
                t.checkpoint();
                s.read(3500, after);
                assertTrue(after[0] != before[0], "trained once there was space");
            }
            try (Stream<Path> files = Files.list(dir)) {
                List<String> leftovers = files.map(p -> p.getFileName().toString()).filter(n -> n.contains("tmp")).toList();
                assertEquals(List.of(), leftovers);
            }
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                Verification v = s.verify();
                assertTrue(v.ok(), v.problems().toString());
            }
        }
    }
}
