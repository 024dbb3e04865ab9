package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.SmallTmpfs;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import io.embstore.store.EmbeddingStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands on a file system that runs out of space (a small tmpfs): exit 1 with one line saying "no space left on
 * device", never the JVM's trace of a fault in a mapped write, and nothing left behind.
 */
class DiskFullCliTest {
    @TempDir
    Path tmp;

    private static List<String> contents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertNoSpace(CliRun run) {
        assertEquals(1, run.status(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().toLowerCase(java.util.Locale.ROOT).contains("no space left on device"), run.toString());
    }

    /** A text vector file whose store (24 MB of rows) is larger than the 20 MB file system. */
    private Path vectorFile(int rows, int dim) throws IOException {
        Path in = tmp.resolve("in.txt");
        try (BufferedWriter w = Files.newBufferedWriter(in, StandardCharsets.UTF_8)) {
            String values = " 0.5".repeat(dim);
            for (int r = 0; r < rows; r++) {
                w.write("w" + r);
                w.write(values);
                w.write('\n');
            }
        }
        return in;
    }

    @Test
    void convertIntoAFullFileSystemIsOneLineAndLeavesNothing() throws Exception {
        Path in = vectorFile(30_000, 200);
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            CliRun run = CliRun.of("convert", in.toString(), fs.dir().resolve("s").toString(), "--quiet");
            assertNoSpace(run);
            assertTrue(run.err().startsWith("embstore convert: " + fs.dir().resolve("s").toAbsolutePath() + ": "), run.err());
            assertEquals(List.of(), contents(fs.dir()));
        }
    }

    @Test
    void createLargerThanTheFileSystemIsOneLineAndLeavesNothing() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            CliRun run = CliRun.of("create", fs.dir().resolve("x").toString(), "--rows", "100000", "--dim", "100");
            assertNoSpace(run);
            assertEquals(List.of(), contents(fs.dir()));
        }
    }

    /**
     * A table larger than any disk here (13 TB) on the real file system: refused at once, before a row is written
     * (the blocks are compared with the free space before anything is allocated), nothing left.
     */
    @Test
    void createLargerThanTheDiskIsRefusedBeforeAnyWork() throws Exception {
        Path x = tmp.resolve("x");
        long start = System.nanoTime();
        CliRun run = CliRun.of("create", x.toString(), "--rows", "100000000", "--dim", "65536", "--dtype", "f16");
        assertNoSpace(run);
        assertTrue(run.err().contains("13107200000000"), run.err());
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "refused at once");
        assertEquals(List.of(), contents(tmp));
    }

    @Test
    void trainClassifierWithItsModelOnAFullFileSystemIsOneLineAndLeavesNothing() throws Exception {
        Path train = SharedData.file("mr-train.txt");
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 2)) {
            CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model",
                    fs.dir().resolve("m").toString(), "--epochs", "1", "--quiet");
            assertNoSpace(run);
            assertEquals(List.of(), contents(fs.dir()));
        }
    }

    /**
     * A fault that still happens (a row whose blocks are gone, here punched out of a store on a full tmpfs, where
     * even reading a hole needs a page) is an I/O error naming the store: exit 1, one line, no trace.
     */
    @Test
    void aFaultInAMappedFileIsAnIoErrorNamingTheStore() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 4)) {
            Path store = fs.dir().resolve("s");
            List<String> words = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                words.add("w" + i);
            }
            EmbeddingStore.builder(store).dim(64).words(words).create().close();
            Process punch = new ProcessBuilder("fallocate", "--punch-hole", "--offset", "4096", "--length",
                    String.valueOf(1000 * 64 * 4), store.resolve("matrix.npy").toString()).redirectErrorStream(true).start();
            String out = new String(punch.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, punch.waitFor(), "fallocate --punch-hole: " + out);
            SmallTmpfs.fillUp(fs.dir().resolve("ballast"));
            CliRun run = CliRun.of("get", store.toString(), "w500");
            assertEquals(1, run.status(), run.toString());
            assertEquals(1, run.errLines().length, run.toString());
            assertTrue(run.err().startsWith("embstore get: " + store + ": I/O error"), run.toString());
            assertFalse(run.err().contains("internal error"), run.toString());
        }
    }

    /**
     * convert and create sweep what killed runs into the same target left (temporaries of processes no longer
     * running) and say so on standard error, one line each; a running process's temporary stays.
     */
    @Test
    void convertRemovesTheTemporariesOfDeadRunsAndSaysSo() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Path target = tmp.resolve("s");
        Path stale = Files.createDirectory(tmp.resolve(".s.tmp-" + dead.pid() + "-00ff"));
        Files.writeString(stale.resolve("matrix.npy"), "x");
        Path staleFile = Files.writeString(tmp.resolve(".s.tmp-" + dead.pid() + "-0aff"), "x");
        Path live = Files.createDirectory(tmp.resolve(".s.tmp-" + ProcessHandle.current().pid() + "-00ff"));
        CliRun run = CliRun.of("convert", SharedData.file("test_glove.txt").toString(), target.toString(), "--quiet");
        assertEquals(0, run.status(), run.toString());
        assertFalse(Files.exists(stale));
        assertFalse(Files.exists(staleFile));
        assertTrue(Files.isDirectory(live));
        List<String> lines = List.of(run.errLines());
        assertEquals(2, lines.size(), run.toString());
        assertTrue(lines.contains("embstore convert: removed " + stale.toAbsolutePath()
                + ", left by an earlier run that did not finish"), run.toString());
        assertTrue(lines.contains("embstore convert: removed " + staleFile.toAbsolutePath()
                + ", left by an earlier run that did not finish"), run.toString());

        Path staleOfCreate = Files.createDirectory(tmp.resolve(".c.tmp-" + dead.pid() + "-00ff"));
        run = CliRun.of("create", tmp.resolve("c").toString(), "--rows", "3", "--dim", "2");
        assertEquals(0, run.status(), run.toString());
        assertFalse(Files.exists(staleOfCreate));
        assertEquals(List.of("embstore create: removed " + staleOfCreate.toAbsolutePath()
                + ", left by an earlier run that did not finish"), List.of(run.errLines()));
    }
}
