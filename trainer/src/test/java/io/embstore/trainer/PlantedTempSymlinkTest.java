package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.testkit.JavaChild;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint record's temporary: a symlink planted under the name the trainer once used,
 * {@code optim.checkpoint.tmp}, is never written through, and a killed trainer's leftover is removed.
 */
class PlantedTempSymlinkTest {
    @TempDir
    Path tmp;

    @Test
    void aSymlinkPlantedAsTheCheckpointsTemporaryIsNotWrittenThrough() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "keep");
        Path dir = tmp.resolve("t");
        try (WritableStore s = EmbeddingStore.builder(dir).rows(10).dim(4).vocabulary(false).create();
             SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.adam().threads(1).build())) {
            Files.createSymbolicLink(dir.resolve("optim.checkpoint.tmp"), victim);
            t.step(new long[] {1, 2}, new float[8]);
            t.checkpoint();
        }
        assertEquals("keep", Files.readString(victim));
        assertTrue(Files.isRegularFile(dir.resolve("optim.checkpoint"), LinkOption.NOFOLLOW_LINKS));
    }

    /**
     * The record's temporary is the store's kind ({@code .optim.checkpoint.tmp-PID-RANDOM}): one that a killed trainer
     * left is removed by the next checkpoint, as the store's writers remove theirs.
     */
    @Test
    void theTemporaryOfAKilledTrainerGoesAtTheNextCheckpoint() throws Exception {
        Process p = new ProcessBuilder(JavaChild.java(), "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "java -version did not finish");
        Path dir = tmp.resolve("k");
        try (WritableStore s = EmbeddingStore.builder(dir).rows(10).dim(4).vocabulary(false).create();
             SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.adam().threads(1).build())) {
            Path left = Files.writeString(dir.resolve(".optim.checkpoint.tmp-" + p.pid() + "-0123456789abcdef"), "torn");
            t.step(new long[] {1, 2}, new float[8]);
            t.checkpoint();
            assertFalse(Files.exists(left, LinkOption.NOFOLLOW_LINKS), left + " is left behind");
        }
    }
}
