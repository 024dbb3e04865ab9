package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer's own temporaries inside a store are {@code TempSibling}s (unpredictable names, created exclusively); a
 * symlink planted under the fixed names older versions used ({@code manifest.txt.tmp}, {@code vocab.index.tmp}) is
 * never written through.
 */
class PlantedTempSymlinkTest {
    @TempDir
    Path tmp;

    @Test
    void aSymlinkPlantedAsTheManifestsTemporaryIsNotWrittenThrough() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "keep");
        Path dir = tmp.resolve("s");
        EmbeddingStore.builder(dir).dim(2).words(List.of("a")).create().close();
        Files.createSymbolicLink(dir.resolve("manifest.txt.tmp"), victim);
        Files.createSymbolicLink(dir.resolve("vocab.index.tmp"), victim);
        try (WritableStore s = EmbeddingStore.openForWriting(dir)) {
            for (int i = 0; i < 40; i++) {
                s.append("w" + i, new float[] {i, i});
            }
            s.flush();
            s.recordChecksums();
        }
        assertEquals("keep", Files.readString(victim));
        assertTrue(Files.isRegularFile(dir.resolve("manifest.txt"), LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.isRegularFile(dir.resolve("vocab.index"), LinkOption.NOFOLLOW_LINKS));
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertEquals(41, s.rows());
            assertTrue(s.verify().ok(), s.verify().problems().toString());
        }
    }
}
