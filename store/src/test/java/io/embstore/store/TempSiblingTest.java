package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TempSiblingTest {
    @TempDir
    Path dir;

    @Test
    void namesAreHiddenSiblingsWithThePidAndAnUnpredictablePart() {
        Path target = dir.resolve("out.txt");
        Path a = TempSibling.name(target);
        Path b = TempSibling.name(target);
        assertNotEquals(a, b);
        assertEquals(dir, a.getParent());
        assertTrue(a.getFileName().toString().startsWith(".out.txt.tmp-" + ProcessHandle.current().pid() + "-"), a.toString());
        assertTrue(TempSibling.isTempOf(a, target));
        assertFalse(TempSibling.isTempOf(a, dir.resolve("out")));
        assertFalse(TempSibling.isTempOf(dir.resolve(".out.txt.tmp-12"), target));
    }

    @Test
    void createFileNeverWritesThroughAPlantedSymlink() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim"), "keep");
        Path target = dir.resolve("out.txt");
        Path temp = TempSibling.createFile(target);
        assertTrue(Files.isRegularFile(temp, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals(0, Files.size(temp));
        // The exclusive create refuses a name that exists, even as a symlink to a file that exists.
        Files.delete(temp);
        Files.createSymbolicLink(temp, victim);
        assertThrows(FileAlreadyExistsException.class, () -> java.nio.channels.FileChannel.open(temp,
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).close());
        assertEquals("keep", Files.readString(victim));
    }

    @Test
    void sweepRemovesOnlyTheTemporariesOfDeadProcesses() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        long deadPid = dead.pid();
        Path target = dir.resolve("store");
        Path victim = Files.createDirectory(dir.resolve("victim"));
        Files.writeString(victim.resolve("keep"), "keep");
        Path staleDir = Files.createDirectory(dir.resolve(".store.tmp-" + deadPid + "-00ff"));
        Files.writeString(staleDir.resolve("matrix.npy"), "x");
        Files.createSymbolicLink(staleDir.resolve("link"), victim);
        Path staleFile = Files.writeString(dir.resolve(".store.tmp-" + deadPid + "-abc1"), "y");
        Path mine = TempSibling.createDirectory(target);
        Path otherTarget = Files.writeString(dir.resolve(".other.tmp-" + deadPid + "-abc1"), "z");
        Path notOurs = Files.writeString(dir.resolve(".store.tmp-" + deadPid + "-notHex"), "w");
        // Another output's temporary in the same directory, in the exact form TempSibling makes: a killed run's too.
        Path otherOutput = Files.writeString(dir.resolve(".other.txt.tmp-" + deadPid + "-0123456789abcdef"), "v");
        Path otherLive = Files.writeString(dir.resolve(".other.txt.tmp-" + ProcessHandle.current().pid()
                + "-0123456789abcdef"), "u");

        List<Path> removed = TempSibling.sweepStale(target);

        assertEquals(3, removed.size(), removed.toString());
        assertFalse(Files.exists(otherOutput));
        assertTrue(Files.exists(otherLive));
        assertFalse(Files.exists(staleDir));
        assertFalse(Files.exists(staleFile));
        assertTrue(Files.isDirectory(mine));
        assertTrue(Files.exists(otherTarget));
        assertTrue(Files.exists(notOurs));
        assertEquals("keep", Files.readString(victim.resolve("keep")));
    }
}
