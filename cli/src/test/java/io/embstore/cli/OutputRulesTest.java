package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.formats.OutputTarget;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import io.embstore.testkit.JavaChild;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the commands that write a user-named file ({@code export}, {@code train-classifier --plot} and
 * {@code --model}) do with a path that is not a plain new file: a device or FIFO is written to as a stream (never
 * replaced), {@code -} is standard output, a symlink's target is replaced and the symlink kept, temporary siblings are
 * unpredictable and those of killed runs are swept. Device nodes are made here with {@code mknod} (root only), never
 * the machine's own {@code /dev/null}, so that a regression cannot break other tests.
 */
class OutputRulesTest {
    @TempDir
    Path tmp;

    private Path store;
    /** What {@code export store} writes as word2vec text, read from a plain file export. */
    private byte[] expected;

    @BeforeEach
    void storeAndItsExport() throws IOException {
        store = tmp.resolve("s");
        int rows = 3000;
        int dim = 17;
        List<String> words = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            words.add("w" + r);
        }
        try (WritableStore s = EmbeddingStore.builder(store).words(words).dim(dim).init(Init.normal(5))
                .create()) {
            s.flush();
        }
        Path plain = tmp.resolve("plain.txt");
        ok("export", store.toString(), plain.toString(), "--quiet");
        expected = Files.readAllBytes(plain);
        assertTrue(expected.length > 256 << 10, "bigger than a pipe's buffer: " + expected.length);
    }

    private static CliRun ok(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(0, run.status(), run.toString());
        return run;
    }

    /** Runs {@code command}; fails the test unless it succeeds. Returns its output. */
    private static String sh(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
        return out;
    }

    /** A character device node {@code name} in the test's directory with {@code /dev}'s numbers; root only. */
    private Path device(String name, int major, int minor) throws IOException, InterruptedException {
        Path node = tmp.resolve(name);
        Process p = new ProcessBuilder("mknod", node.toString(), "c", Integer.toString(major), Integer.toString(minor))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        if (p.exitValue() != 0) {
            if ("true".equals(System.getenv("CI"))) {
                fail("mknod is needed (tests run as root under CI): " + out);
            }
            Assumptions.abort("cannot make device nodes here (not root?): " + out);
        }
        assertTrue(isCharacterDevice(node));
        return node;
    }

    private static boolean isCharacterDevice(Path p) throws IOException, InterruptedException {
        return sh("stat", "-c", "%F", p.toString()).strip().equals("character special file");
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    private void noTemporariesIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> temps = files.filter(p -> p.getFileName().toString().contains(".tmp")).toList();
            assertEquals(List.of(), temps, "temporary files left in " + dir);
        }
    }

    // ------------------------------------------------------------------------------------------------ devices

    @Test
    void exportToANullDeviceWritesThroughItAndLeavesItADevice() throws Exception {
        Path nul = device("null", 1, 3);
        ok("export", store.toString(), nul.toString(), "--quiet");
        assertTrue(isCharacterDevice(nul), "still a character device");
        assertTrue(attributes(nul).isOther());
        Path gz = device("null.gz", 1, 3);
        ok("export", store.toString(), gz.toString(), "--quiet");
        assertTrue(isCharacterDevice(gz), "still a character device");
        noTemporariesIn(tmp);
    }

    @Test
    void exportToAFullDeviceFailsNamingItAndNoSpaceLeft() throws Exception {
        Path full = device("full", 1, 7);
        CliRun run = CliRun.of("export", store.toString(), full.toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().startsWith("embstore export: " + full + ": "), run.err());
        assertTrue(run.err().toLowerCase(java.util.Locale.ROOT).contains("no space left"), run.err());
        assertTrue(isCharacterDevice(full), "still a character device");
        noTemporariesIn(tmp);
    }

    // ------------------------------------------------------------------------------------------------ FIFOs

    /** Exports to a FIFO that {@code cat} reads into a file; returns what the reader got. */
    private byte[] exportThroughFifo(String name, String... options) throws Exception {
        Path fifo = tmp.resolve(name);
        sh("mkfifo", fifo.toString());
        Path received = tmp.resolve(name + ".received");
        Process cat = new ProcessBuilder("cat", fifo.toString()).redirectOutput(received.toFile()).start();
        try {
            List<String> args = new ArrayList<>(List.of("export", store.toString(), fifo.toString(), "--quiet"));
            args.addAll(List.of(options));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, run.status(), run.toString());
            assertTrue(cat.waitFor(30, TimeUnit.SECONDS), "the reader saw the end of the data");
        } finally {
            cat.destroyForcibly();
        }
        assertTrue(attributes(fifo).isOther(), "still a FIFO");
        assertEquals("fifo", sh("stat", "-c", "%F", fifo.toString()).strip());
        return Files.readAllBytes(received);
    }

    @Test
    void exportToAFifoStreamsTheWholeContentToItsReader() throws Exception {
        assertArrayEquals(expected, exportThroughFifo("pipe.vec"));
        byte[] gz = exportThroughFifo("pipe.vec.gz");
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            assertArrayEquals(expected, in.readAllBytes(), "a .gz FIFO still gets gzip");
        }
        noTemporariesIn(tmp);
    }

    // ------------------------------------------------------------------------------------------------ symlinks

    @Test
    void exportToASymlinkReplacesItsTargetAndKeepsTheLink() throws IOException {
        Path elsewhere = Files.createDirectory(tmp.resolve("elsewhere"));
        Path target = Files.writeString(elsewhere.resolve("target.vec"), "old\n");
        Path links = Files.createDirectory(tmp.resolve("links"));
        Path link = Files.createSymbolicLink(links.resolve("out.vec"), Path.of("../elsewhere/target.vec"));
        ok("export", store.toString(), link.toString(), "--quiet");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals(Path.of("../elsewhere/target.vec"), Files.readSymbolicLink(link));
        assertTrue(attributes(target).isRegularFile());
        assertArrayEquals(expected, Files.readAllBytes(target));
        noTemporariesIn(links);
        noTemporariesIn(elsewhere);

        Path dangling = Files.createSymbolicLink(links.resolve("dangling.vec"), elsewhere.resolve("nothing.vec"));
        CliRun run = CliRun.of("export", store.toString(), dangling.toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertTrue(run.err().contains(dangling + ": is a symbolic link to " + elsewhere.resolve("nothing.vec")
                + ", which does not exist"), run.err());
        assertTrue(Files.isSymbolicLink(dangling));
    }

    /**
     * Export's temporary sibling used to be {@code .NAME.tmp-PID}, opened with create-and-truncate: a symlink planted
     * at that name made the export write through it. Names now have a random part and are created exclusively.
     */
    @Test
    void aSymlinkPlantedAtTheOldTemporaryNameIsNotWrittenThrough() throws IOException {
        Path victim = Files.writeString(tmp.resolve("victim"), "keep");
        Path out = tmp.resolve("out.vec");
        Path planted = Files.createSymbolicLink(tmp.resolve(".out.vec.tmp-" + ProcessHandle.current().pid()), victim);
        ok("export", store.toString(), out.toString(), "--quiet");
        assertEquals("keep", Files.readString(victim));
        assertTrue(attributes(out).isRegularFile(), "the output is a file, not the planted link");
        assertArrayEquals(expected, Files.readAllBytes(out));
        assertTrue(Files.isSymbolicLink(planted), "another's file is left alone");
    }

    // ------------------------------------------------------------------------------------------------ stdout

    /** The CLI in a child JVM, started by the caller: standard output is read as bytes, not as JavaChild's lines. */
    private static ProcessBuilder cli(Path dir, String... args) {
        return new ProcessBuilder(JavaChild.of(EmbstoreCli.class, args).jvm().command()).directory(dir.toFile());
    }

    @Test
    void exportToDashWritesStandardOutputAndMessagesToStandardError() throws Exception {
        Path err = tmp.resolve("err.txt");
        Process p = cli(tmp, "export", store.toString(), "-").redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(err));
        assertArrayEquals(expected, out, "standard output is the export and nothing else");
        assertFalse(Files.exists(tmp.resolve("-"), LinkOption.NOFOLLOW_LINKS), "no file named '-'");
        assertTrue(Files.readString(err).startsWith("exported 3,000 rows of " + store + " to standard output"),
                Files.readString(err));

        Process withJson = cli(tmp, "export", store.toString(), "-", "--json").redirectError(err.toFile()).start();
        byte[] data = withJson.getInputStream().readAllBytes();
        assertTrue(withJson.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, withJson.exitValue(), Files.readString(err));
        assertArrayEquals(expected, data, "--json goes to standard error too");
        assertTrue(Files.readString(err).startsWith("{\"store\":"), Files.readString(err));
    }

    /**
     * A link to a descriptor ({@code /dev/stdout} is one, to {@code /proc/self/fd/1}; made here in the test's directory,
     * so that no code can replace the machine's own) is written through, whether the descriptor is a pipe or a file
     * a shell opened with {@code >}.
     */
    @Test
    void exportToALinkToStandardOutputWritesThroughTheDescriptor() throws Exception {
        Path stdout = Files.createSymbolicLink(tmp.resolve("stdout"), Path.of("/proc/self/fd/1"));
        Process piped = cli(tmp, "export", store.toString(), stdout.toString(), "--quiet").start();
        byte[] out = piped.getInputStream().readAllBytes();
        assertTrue(piped.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, piped.exitValue(), new String(piped.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        assertArrayEquals(expected, out);

        Path redirected = Files.writeString(tmp.resolve("redirected.vec"), "old contents to be truncated\n".repeat(50_000));
        Process toFile = cli(tmp, "export", store.toString(), stdout.toString(), "--quiet")
                .redirectOutput(redirected.toFile()).start();
        assertTrue(toFile.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, toFile.exitValue(), new String(toFile.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        assertArrayEquals(expected, Files.readAllBytes(redirected));
        assertTrue(Files.isSymbolicLink(stdout));
        noTemporariesIn(tmp);
    }

    @Test
    void exportToAClosedPipeFailsNamingStandardOutput() throws Exception {
        Path err = tmp.resolve("err.txt");
        Process p = cli(tmp, "export", store.toString(), "-").redirectError(err.toFile()).start();
        try (InputStream in = p.getInputStream()) {
            assertEquals(10, in.readNBytes(10).length);
        } // closed: the rest of the export meets a broken pipe
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String message = Files.readString(err);
        assertEquals(ExitCode.USER_ERROR, p.exitValue(), message);
        assertTrue(message.toLowerCase(java.util.Locale.ROOT).startsWith(
                "embstore export: standard output: cannot write: broken pipe"), message);
        assertEquals(1, message.strip().lines().count(), message);
        assertFalse(Files.exists(tmp.resolve("-"), LinkOption.NOFOLLOW_LINKS), "no file named '-'");
    }

    // ------------------------------------------------------------------------------------------------ stale temps

    @Test
    void theTemporaryOfAKilledExportIsSweptByTheNextExportThere() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Path out = tmp.resolve("out.vec");
        Path stale = Files.writeString(tmp.resolve(".out.vec.tmp-" + dead.pid() + "-0123456789abcdef"), "half");
        Path live = Files.writeString(tmp.resolve(".out.vec.tmp-" + ProcessHandle.current().pid() + "-00ff"), "mine");
        CliRun run = ok("export", store.toString(), out.toString(), "--quiet");
        assertFalse(Files.exists(stale), "swept");
        assertTrue(Files.exists(live), "a running process's temporary is left alone");
        assertTrue(run.err().contains("removed " + stale), run.err());
        assertArrayEquals(expected, Files.readAllBytes(out));
    }

    // ------------------------------------------------------------------------------------------------ sizes

    @Test
    void aCompressedExportReportsTheTextSizeAndTheBytesWritten() throws IOException {
        Path gz = tmp.resolve("out.vec.gz");
        CliRun json = ok("export", store.toString(), gz.toString(), "--quiet", "--json");
        assertEquals(expected.length, json.json().get("bytes").asLong(), "bytes: the text, before compression");
        assertEquals(Files.size(gz), json.json().get("written_bytes").asLong(), "written_bytes: the file");
        CliRun text = ok("export", store.toString(), gz.toString(), "--quiet");
        assertTrue(text.out().contains(String.format(java.util.Locale.ROOT, ": %,d bytes uncompressed, %,d bytes written",
                expected.length, Files.size(gz))), text.out());

        Path tiny = tmp.resolve("tiny");
        ok("create", tiny.toString(), "--words", Files.writeString(tmp.resolve("words.txt"), "a\nb\n").toString(),
                "--dim", "2");
        CliRun small = ok("export", tiny.toString(), tmp.resolve("tiny.vec").toString(), "--quiet");
        assertFalse(small.out().contains("(0 MB/s)"), small.out());
        assertTrue(small.out().matches("(?s).*\\(\\d+(\\.\\d)? [KM]?B/s\\).*"), small.out());
    }

    @Test
    void anExportKilledWithSigkillLeavesATemporaryThatTheNextExportRemoves() throws Exception {
        // Big enough (tens of MB of text) that the export is still writing its temporary when it is killed.
        Path big = tmp.resolve("big");
        List<String> words = new ArrayList<>();
        for (int r = 0; r < 200_000; r++) {
            words.add("w" + r);
        }
        try (WritableStore s = EmbeddingStore.builder(big).words(words).dim(50).init(Init.normal(1))
                .create()) {
            s.flush();
        }
        Path out = tmp.resolve("killed.vec");
        Process p = cli(tmp, "export", big.toString(), out.toString(), "--quiet", "--threads", "1")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String prefix = ".killed.vec.tmp-" + p.pid() + "-";
        Path temp = null;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (temp == null && p.isAlive() && System.nanoTime() < deadline) {
                try (Stream<Path> files = Files.list(tmp)) {
                    temp = files.filter(f -> f.getFileName().toString().startsWith(prefix)).findFirst().orElse(null);
                }
            }
        } finally {
            p.destroyForcibly(); // SIGKILL: no shutdown hook runs
            p.waitFor();
        }
        assertTrue(temp != null, "the export's temporary was seen while it ran");
        assertTrue(Files.exists(temp), "SIGKILL left it behind");
        assertFalse(Files.exists(out));
        CliRun run = ok("export", store.toString(), out.toString(), "--quiet");
        assertFalse(Files.exists(temp), "swept: " + temp);
        assertTrue(run.err().contains("embstore export: removed " + temp + ", left by a run that was killed"), run.err());
        assertArrayEquals(expected, Files.readAllBytes(out));
        noTemporariesIn(tmp);
    }

    @Test
    void temporaryNamesAreUnpredictableAndCreatedExclusively() throws IOException {
        Path out = tmp.resolve("out.vec");
        OutputTarget target = OutputTarget.of(out, "a file");
        try (OutputTarget.Temp a = target.createTemp(); OutputTarget.Temp b = target.createTemp()) {
            String name = a.path().getFileName().toString();
            assertTrue(name.matches("\\.out\\.vec\\.tmp-" + ProcessHandle.current().pid() + "-[0-9a-f]{16}"), name);
            assertFalse(a.path().equals(b.path()), "two temporaries, two names");
            assertTrue(attributes(a.path()).isRegularFile());
            // The name was free and is now taken exclusively: the same name cannot be created again, even as a file
            // that is already there (as a planted one would be).
            assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> Files.newOutputStream(a.path(),
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE).close());
        }
        noTemporariesIn(tmp); // closed without install: deleted
    }

    // ------------------------------------------------------------------------------------------------ classifier

    private Path trainingData() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add(i % 2 == 0 ? "__label__pos good fine " + i : "__label__neg bad poor " + i);
        }
        return Files.write(tmp.resolve("train.txt"), lines);
    }

    @Test
    void plotToASymlinkReplacesTheTargetAndToADeviceWritesThrough() throws Exception {
        Path train = trainingData();
        Path target = Files.writeString(tmp.resolve("target.png"), "old");
        Path link = Files.createSymbolicLink(tmp.resolve("curves.png"), target.getFileName());
        ok("train-classifier", "--train", train.toString(), "--model", tmp.resolve("m").toString(), "--dim", "4",
                "--plot", link.toString(), "--quiet");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        byte[] png = Files.readAllBytes(target);
        assertEquals((byte) 0x89, png[0]);
        assertEquals("PNG", new String(png, 1, 3, StandardCharsets.US_ASCII));
        noTemporariesIn(tmp);

        Path nul = device("null", 1, 3);
        ok("train-classifier", "--train", train.toString(), "--model", tmp.resolve("m2").toString(), "--dim", "4",
                "--plot", nul.toString(), "--quiet");
        assertTrue(isCharacterDevice(nul), "still a character device");
    }

    @Test
    void aModelDirectoryThatIsASymlinkIsRefusedBeforeTraining() throws IOException {
        Path train = trainingData();
        Path dir = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("model"), dir);
        CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model", link.toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertTrue(run.err().contains(link + ": already exists"), run.err());

        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("nowhere"));
        run = CliRun.of("train-classifier", "--train", train.toString(), "--model", dangling.toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().contains(dangling + ": already exists (a symbolic link to " + tmp.resolve("nowhere")
                + ")"), run.err());
        assertEquals("", run.out(), "refused before any training");
        assertTrue(Files.isSymbolicLink(dangling));
        assertFalse(Files.exists(tmp.resolve("nowhere")));
        noTemporariesIn(tmp);
    }

    @Test
    void theTemporaryModelOfAKilledTrainingIsSwept() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Path stale = Files.createDirectory(tmp.resolve(".m.tmp-" + dead.pid() + "-00aa11bb22cc33dd"));
        Files.writeString(stale.resolve("matrix.npy"), "half");
        CliRun run = ok("train-classifier", "--train", trainingData().toString(), "--model", tmp.resolve("m").toString(),
                "--dim", "4", "--quiet");
        assertFalse(Files.exists(stale), "swept");
        assertTrue(run.err().contains("removed " + stale), run.err());
    }
}
