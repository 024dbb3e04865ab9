package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.JavaChild;
import io.embstore.testkit.SmallTmpfs;
import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file system that runs out of space (a 20 MB tmpfs) under every way the store writes through mappings: each is a
 * {@link StoreException} saying "no space left on device", never the JVM's {@link InternalError} of a fault in a
 * mapped write, and leaves nothing half-written behind.
 */
class DiskFullTest {
    @TempDir
    Path tmp;

    private static void assertNoSpace(StoreException e) {
        assertTrue(e.getMessage().contains("no space left on device"), e.getMessage());
    }

    private static List<String> contents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static float[] vector(long row, int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = row + i / 1000f;
        }
        return v;
    }

    /** A 40 MB table on a 20 MB file system: refused before the first row, nothing left. */
    @Test
    void createLargerThanTheFileSystemIsNoSpaceAndLeavesNothing() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            Path dir = fs.dir().resolve("x");
            StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.builder(dir).rows(100_000).dim(100)
                    .vocabulary(false).init(Init.normal(1)).create());
            assertNoSpace(e);
            assertEquals(dir.toAbsolutePath(), e.path());
            assertEquals(List.of(), contents(fs.dir()));
        }
    }

    /**
     * A draft sized for more rows than fit (as a converter sizes it from its input) fails when the rows put no longer
     * fit, with the error, not a fault; closing it leaves nothing.
     */
    @Test
    void aDraftWhoseRowsDoNotFitFailsWithNoSpace() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            Path dir = fs.dir().resolve("x");
            int dim = 300;
            try (Draft d = EmbeddingStore.builder(dir).dim(dim).draft()) {
                d.ensureCapacity(100_000);
                d.ensureWordCapacity(2_000_000);
                d.computeNormsOnCommit(true);
                StoreException e = assertThrows(StoreException.class, () -> {
                    for (int r = 0; r < 100_000; r++) {
                        d.putRow(r, vector(r, dim), 0);
                        d.putWord(r, MemorySegment.ofArray(("w" + r).getBytes(StandardCharsets.UTF_8)));
                    }
                });
                assertNoSpace(e);
            }
            assertEquals(List.of(), contents(fs.dir()));
        }
    }

    /**
     * Appends until the disk is full: the append that does not fit fails with the error; every row before it reads
     * back as written, verify finds nothing wrong, and once space is freed appending goes on.
     */
    @Test
    void appendingToAFullDiskFailsCleanlyAndWorksAgainOnceSpaceIsFreed() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 20)) {
            Path dir = fs.dir().resolve("s");
            int dim = 64;
            Path ballast = fs.dir().resolve("ballast");
            try (WritableStore s = EmbeddingStore.builder(dir).dim(dim).words(List.of("w0")).init(Init.zeros()).create()) {
                s.write(0, vector(0, dim));
                s.computeNorms();
                Files.write(ballast, new byte[14 << 20]);
                StoreException full = null;
                for (long i = 1; full == null; i++) {
                    try {
                        assertEquals(i, s.append("w" + i, vector(i, dim)));
                    } catch (StoreException e) {
                        full = e;
                    }
                    assertTrue(i < 1_000_000, "20 MB never filled");
                }
                assertNoSpace(full);
                long rows = s.rows();
                assertTrue(rows > 1000, "rows appended before the disk was full: " + rows);
                float[] got = new float[dim];
                for (long r = 0; r < rows; r++) {
                    s.read(r, got);
                    assertArrayEquals(vector(r, dim), got, "row " + r);
                    assertEquals(r, s.rowOf("w" + r));
                }
                Verification v = s.verify();
                assertTrue(v.ok(), v.problems().toString());

                Files.delete(ballast);
                assertEquals(rows, s.append("w" + rows, vector(rows, dim)));
                assertEquals(rows + 1, s.append("w" + (rows + 1), vector(rows + 1, dim)));
                s.flush();
            }
            List<String> leftovers = contents(dir).stream().filter(n -> n.contains("tmp")).toList();
            assertEquals(List.of(), leftovers);
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                Verification v = s.verify();
                assertTrue(v.ok(), v.problems().toString());
                float[] got = new float[dim];
                s.read(s.rows() - 1, got);
                assertArrayEquals(vector(s.rows() - 1, dim), got);
            }
        }
    }

    /**
     * A create that fails while the draft is sized (here "File too large": the process may write no file larger than
     * 1 MiB) leaves no temporary directory behind.
     */
    @Test
    void aCreateThatFailsWhileSizingLeavesNoTemporaryDirectory() throws Exception {
        Path dir = tmp.resolve("x");
        String out;
        try (JavaChild p = JavaChild.of(CreateChild.class, dir.toString(), "100000", "100")
                .wrappedIn("bash", "-c", "ulimit -f 1024 && exec \"$@\"", "bash").mergeStderr().start()) {
            int status = p.awaitExit(Duration.ofSeconds(120));
            out = p.stdout();
            assertEquals(1, status, out);
        }
        assertTrue(out.startsWith(dir.toAbsolutePath() + ": file too large: "), out);
        assertEquals(List.of(), contents(tmp), out);
    }

    /** The child of {@link #aCreateThatFailsWhileSizingLeavesNoTemporaryDirectory}: creates a store, exits 1 on error. */
    static final class CreateChild {
        public static void main(String[] args) {
            try (WritableStore s = EmbeddingStore.builder(Path.of(args[0])).rows(Long.parseLong(args[1]))
                    .dim(Integer.parseInt(args[2])).vocabulary(false).init(Init.zeros()).create()) {
                System.out.println("created " + s.path());
            } catch (StoreException e) {
                System.out.println(e.getMessage());
                System.exit(1);
            }
        }
    }

    /**
     * The next build of a store sweeps the temporary directories that killed builds of it left behind, those of
     * processes no longer running; a running build's stays.
     */
    @Test
    void theNextBuildRemovesTheTemporariesOfDeadBuildsOnly() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Path target = tmp.resolve("x");
        Path stale = Files.createDirectory(tmp.resolve(".x.tmp-" + dead.pid() + "-1a2b3c"));
        Files.write(stale.resolve("matrix.npy"), new byte[4096]);
        Path live = Files.createDirectory(tmp.resolve(".x.tmp-" + ProcessHandle.current().pid() + "-4d5e6f"));
        try (WritableStore s = EmbeddingStore.builder(target).rows(3).dim(2).vocabulary(false).create()) {
            assertEquals(3, s.rows());
        }
        assertFalse(Files.exists(stale), "the dead build's temporary directory was removed");
        assertTrue(Files.isDirectory(live), "a running build's temporary directory stays");
        assertEquals(List.of(".x.tmp-" + ProcessHandle.current().pid() + "-4d5e6f", "x"), contents(tmp));
        List<Path> none = new ArrayList<>(TempSibling.sweepStale(target));
        assertEquals(List.of(), none);
        assertNotNull(live);
    }
}
