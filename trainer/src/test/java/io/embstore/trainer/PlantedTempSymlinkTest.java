package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's fixed-name temporary {@code optim.checkpoint.tmp}: a symlink planted there is never written through. */
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
}
