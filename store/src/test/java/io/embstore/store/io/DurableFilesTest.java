package io.embstore.store.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFilesTest {
    @TempDir
    Path tmp;

    private List<String> names() throws Exception {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void replaceLeavesOnlyTheNewFile() throws Exception {
        Path file = tmp.resolve("manifest.txt");
        DurableFiles.replace(file, "one");
        DurableFiles.replace(file, "two");
        assertEquals("two", Files.readString(file));
        assertEquals(List.of("manifest.txt"), names(), "no temporary is left");
    }

    /**
     * A caller's {@link DurableFiles.Forcing} sees both forces, in order: the temporary holding all the new bytes while
     * the target still holds the old ones (the rename comes after), then the directory once the target holds the new.
     */
    @Test
    void replaceMakesItsTwoForcesThroughTheCallersForcing() throws Exception {
        Path file = tmp.resolve("record");
        DurableFiles.replace(file, "old");
        List<String> seen = new ArrayList<>();
        DurableFiles.replace(file, "new".getBytes(), new DurableFiles.Forcing() {
            @Override
            public void force(Path f, FileChannel channel) throws IOException {
                assertTrue(TempSibling.isTempOf(f, file), f + " is a temporary sibling of " + file);
                seen.add("file " + Files.readString(f) + ", target " + Files.readString(file));
                DurableFiles.Forcing.SYSTEM.force(f, channel);
            }

            @Override
            public void forceDirectory(Path dir) throws IOException {
                seen.add("directory " + tmp.relativize(dir) + ", target " + Files.readString(file));
                DurableFiles.Forcing.SYSTEM.forceDirectory(dir);
            }
        });
        assertEquals(List.of("file new, target old", "directory , target new"), seen);
        assertEquals(List.of("record"), names(), "no temporary is left");
    }

    @Test
    void aSymlinkPlantedBesideTheTargetIsNotWrittenThrough() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "keep");
        Path file = tmp.resolve("f");
        Files.createSymbolicLink(tmp.resolve("f.tmp"), victim);
        DurableFiles.replace(file, "new");
        assertEquals("keep", Files.readString(victim));
        assertEquals("new", Files.readString(file));
    }

    @Test
    void publishingADirectoryNeverReplacesAPublishedOne() throws Exception {
        Path target = Files.createDirectory(tmp.resolve("store"));
        Files.writeString(target.resolve("manifest.txt"), "old");
        Path temp = TempSibling.createDirectory(target);
        Files.writeString(temp.resolve("manifest.txt"), "new");
        assertThrows(FileSystemException.class, () -> DurableFiles.publishDirectory(temp, target));
        assertEquals("old", Files.readString(target.resolve("manifest.txt")));
        Path other = tmp.resolve("other");
        DurableFiles.publishDirectory(temp, other);
        assertEquals("new", Files.readString(other.resolve("manifest.txt")));
    }
}
