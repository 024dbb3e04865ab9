package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.SmallTmpfs;
import io.embstore.store.io.FileSpace;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSpaceTest {
    @TempDir
    Path tmp;

    /** A large region goes through posix_fallocate: its blocks are taken at once, the file is extended. */
    @Test
    void reservingTakesTheBlocksAndARegionLargerThanTheFreeSpaceIsRefusedUntouched() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            Path file = Files.createFile(fs.dir().resolve("f"));
            long before = fs.dir().toFile().getUsableSpace();
            FileSpace.reserve(file, 0, 16 << 20);
            assertEquals(16 << 20, Files.size(file));
            assertTrue(before - fs.dir().toFile().getUsableSpace() >= 16 << 20, "blocks taken");
            long left = fs.dir().toFile().getUsableSpace();
            StoreException e = assertThrows(StoreException.class, () -> FileSpace.reserve(file, 16 << 20, 32 << 20));
            assertEquals(file + ": no space left on device: " + file + " needs 16777216 bytes (17 MB) more, " + left
                    + " bytes (" + String.format(java.util.Locale.ROOT, "%.1f", left / 1e6) + " MB) free: free some space"
                    + " or choose another file system", e.getMessage());
            assertTrue(FileSpace.isOutOfSpace(e));
            assertEquals(StoreException.Kind.NO_SPACE, e.kind());
            assertEquals(16 << 20, Files.size(file), "nothing allocated");
        }
    }

    @Test
    void sizesReadAtAGlance() {
        assertEquals("4096 bytes", FileSpace.size(4096));
        assertEquals("13107200000000 bytes (13 TB)", FileSpace.size(13_107_200_000_000L));
        assertEquals("40004096 bytes (40 MB)", FileSpace.size(40_004_096));
    }
}
