package io.embstore.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import io.embstore.testkit.SmallTmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A rebuild on a full file system: a NO_SPACE error naming the index, no temporary left, the old index intact. */
class AnnIndexDiskFullTest {
    @TempDir
    Path tmp;

    @Test
    void aRebuildThatRunsOutOfSpaceLeavesTheOldIndexInPlace() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("small"), 4)) {
            Path dir = fs.dir().resolve("t");
            ClusteredTable.create(dir, 2000, Dtype.F32, 5);
            try (EmbeddingStore store = EmbeddingStore.open(dir)) {
                AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1).withM(8), null).close();
                byte[] before = Files.readAllBytes(dir.resolve(AnnFile.NAME));
                SmallTmpfs.fillUp(fs.dir().resolve("filler"));
                StoreException e = assertThrows(StoreException.class,
                        () -> AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1).withM(32), null));
                assertEquals(StoreException.Kind.NO_SPACE, e.kind(), e.getMessage());
                assertEquals(dir.resolve(AnnFile.NAME), e.path(), e.getMessage());
                try (var files = Files.list(dir)) {
                    assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary left");
                }
                assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(dir.resolve(AnnFile.NAME))));
                try (AnnIndex old = AnnIndex.open(store)) {
                    assertEquals(8, old.m());
                    assertEquals(store.mostSimilar("w3", 5), old.mostSimilar("w3", 5, 2000));
                }
            }
        }
    }
}
