package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad paths and bad files given to the commands: each is one line on standard error naming the path and what was
 * expected, the documented exit status, no stack trace, and nothing written.
 */
class CliBadInputTest {
    @TempDir
    Path tmp;

    private Path vectors;
    private Path store;
    private Path train;

    @BeforeEach
    void smallStoreAndData() throws IOException {
        vectors = tmp.resolve("g.txt");
        Files.writeString(vectors, "cat 0.1 0.2 0.3\ndog 0.4 0.5 0.6\nbird 0.7 0.8 0.9\n");
        store = tmp.resolve("store");
        ok("convert", vectors.toString(), store.toString(), "--quiet");
        train = tmp.resolve("train.txt");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add(i % 2 == 0 ? "__label__pos good fine " + i : "__label__neg bad poor " + i);
        }
        Files.write(train, lines);
    }

    private static CliRun ok(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(ExitCode.OK, run.status(), run::toString);
        return run;
    }

    /** Fails unless the run exited with {@code status} and printed exactly one line, which starts with {@code start}. */
    private static String oneLine(CliRun run, int status, String start) {
        assertEquals(status, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        String line = run.errLines()[0];
        assertTrue(line.startsWith(start), () -> "expected a line starting with '" + start + "'\n" + run);
        assertFalse(run.err().contains("\tat "), run::toString);
        return line;
    }

    private List<Path> entries() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.sorted().toList();
        }
    }

    // ------------------------------------------------------------------ missing parent directories (exit 3)

    @Test
    void outputsWhoseParentDirectoryIsMissingAreRefusedBeforeAnyWork() throws IOException {
        List<Path> before = entries();
        String nodir = tmp.resolve("nodir").toString();
        oneLine(CliRun.of("convert", vectors.toString(), nodir + "/sub/x", "--quiet"), ExitCode.NOT_FOUND,
                "embstore convert: " + nodir + "/sub/x: the parent directory does not exist");
        oneLine(CliRun.of("create", nodir + "/c", "--rows", "3", "--dim", "2"), ExitCode.NOT_FOUND,
                "embstore create: " + nodir + "/c: the parent directory does not exist");
        oneLine(CliRun.of("export", store.toString(), nodir + "/out.txt", "--quiet"), ExitCode.NOT_FOUND,
                "embstore export: " + nodir + "/out.txt: the parent directory does not exist");
        oneLine(CliRun.of("train-classifier", "--train", train.toString(), "--model", nodir + "/m", "--quiet"),
                ExitCode.NOT_FOUND, "embstore train-classifier: " + nodir + "/m: the parent directory does not exist");
        assertEquals(before, entries(), "no directory was created");
    }

    @Test
    void aPlotWhoseDirectoryIsMissingIsRefusedBeforeTraining() throws IOException {
        Path model = tmp.resolve("model");
        String plot = tmp.resolve("missing-dir").resolve("p.png").toString();
        oneLine(CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(), "--plot", plot,
                "--quiet"), ExitCode.NOT_FOUND, "embstore train-classifier: " + plot + ": the parent directory does not exist");
        assertFalse(Files.exists(model), "no model was trained");
        Files.createDirectory(tmp.resolve("adir"));
        oneLine(CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(), "--plot",
                tmp.resolve("adir").toString(), "--quiet"), ExitCode.USER_ERROR,
                "embstore train-classifier: " + tmp.resolve("adir") + ": is a directory");
        assertFalse(Files.exists(model), "no model was trained");
    }

    /**
     * A chart that cannot be written after all says why, and where the (complete) model is: here its temporary
     * sibling's name is too long for the file system, which no check beforehand looks at.
     */
    @Test
    void aChartThatCannotBeWrittenSaysWhy() {
        Path model = tmp.resolve("model");
        Path plot = tmp.resolve("p".repeat(248) + ".png");
        CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(), "--plot",
                plot.toString(), "--quiet");
        String line = oneLine(run, ExitCode.USER_ERROR, "embstore train-classifier: " + plot + ": cannot write the chart (");
        assertTrue(line.endsWith("(File name too long); the trained model is complete in " + model), line);
        assertTrue(Files.isDirectory(model));
        assertFalse(Files.exists(plot));
    }

    // ------------------------------------------------------------------------------------------------ export

    @Test
    void exportRefusesToWriteIntoAStoreOrOntoADirectory() throws IOException {
        Path matrix = store.resolve("matrix.npy");
        byte[] before = Files.readAllBytes(matrix);
        oneLine(CliRun.of("export", store.toString(), matrix.toString(), "--quiet"), ExitCode.USER_ERROR,
                "embstore export: " + matrix + ": is inside the store " + store.toRealPath());
        // Another store is just as much a store, and a symbolic link does not hide one.
        Path other = tmp.resolve("other");
        ok("create", other.toString(), "--rows", "2", "--dim", "3");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), other);
        oneLine(CliRun.of("export", store.toString(), link.resolve("x.txt").toString(), "--quiet"), ExitCode.USER_ERROR,
                "embstore export: " + link.resolve("x.txt") + ": is inside the store " + other.toRealPath());
        oneLine(CliRun.of("export", store.toString(), store.toString(), "--quiet"), ExitCode.USER_ERROR,
                "embstore export: " + store + ": is a directory: expected the name of a file to write");
        assertArrayEquals(before, Files.readAllBytes(matrix));
        assertEquals(0, CliRun.of("verify", store.toString()).status());
        assertFalse(Files.exists(other.resolve("x.txt")));

        // A directory that merely has a file called manifest.txt is not a store.
        Path notStore = Files.createDirectory(tmp.resolve("notes"));
        Files.writeString(notStore.resolve("manifest.txt"), "shopping list\n");
        ok("export", store.toString(), notStore.resolve("out.txt").toString(), "--quiet");
        // An existing regular file is replaced, as --help says.
        Path out = tmp.resolve("out.txt");
        Files.writeString(out, "old contents that are longer than the export of three rows of three values\n".repeat(9));
        ok("export", store.toString(), out.toString(), "--quiet");
        assertTrue(Files.readString(out).startsWith("3 3\ncat 0.1 0.2 0.3\n"), Files.readString(out));
    }

    @Test
    void exportWordsFromADirectoryIsOneLine() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("words"));
        Path out = tmp.resolve("out.txt");
        oneLine(CliRun.of("export", store.toString(), out.toString(), "--words", dir.toString(), "--quiet"),
                ExitCode.USER_ERROR, "embstore export: " + dir + ": cannot read the words file (");
        assertFalse(Files.exists(out));
    }

    // ------------------------------------------------------------------------------------ permission denied

    /**
     * A directory this process may not write in, for real: chmod for an ordinary user; for root, whom chmod does not
     * stop, the immutable attribute ({@code chattr +i}, undone by {@link #writable}). Null when neither works here
     * (the mapping of the error itself is tested in {@link ErrorReporterTest} whatever the machine).
     */
    static Path unwritable(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        dir.toFile().setWritable(false, false);
        if (!Files.isWritable(dir) && !dir.toFile().canWrite()) {
            return dir;
        }
        Process p = new ProcessBuilder("chattr", "+i", dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            System.out.println("chattr +i unavailable here (" + out.strip() + ")");
            return null;
        }
        return dir;
    }

    static void writable(Path dir) throws IOException, InterruptedException {
        try {
            new ProcessBuilder("chattr", "-i", dir.toString()).redirectErrorStream(true).start().waitFor();
        } catch (IOException e) {
            // no chattr: the directory was made unwritable by chmod
        }
        dir.toFile().setWritable(true, false);
    }

    @Test
    void anUnwritableDirectoryIsBadInputNamingThePathGiven() throws Exception {
        Path ro = unwritable(tmp.resolve("ro"));
        Assumptions.assumeTrue(ro != null, "no way to make a directory unwritable for this user here");
        try {
            for (String[] args : List.of(
                    new String[] {"convert", vectors.toString(), ro.resolve("x").toString(), "--quiet"},
                    new String[] {"create", ro.resolve("c").toString(), "--rows", "3", "--dim", "2"},
                    new String[] {"train-classifier", "--train", train.toString(), "--model", ro.resolve("m").toString(),
                            "--quiet"})) {
                Path given = Path.of(args[0].equals("train-classifier") ? args[4] : args[0].equals("convert") ? args[2] : args[1]);
                String line = oneLine(CliRun.of(args), ExitCode.USER_ERROR, "embstore " + args[0] + ": " + given + ": ");
                assertTrue(line.contains("permission denied"), line);
                assertFalse(line.contains(".tmp") || line.contains(".training-"), line);
            }
            try (Stream<Path> s = Files.list(ro)) {
                assertEquals(0, s.count());
            }
        } finally {
            writable(ro);
        }
    }

    /**
     * The training builds the model in a temporary sibling; when that fails (here: the sibling's name is longer than
     * the file system allows, which no check beforehand looks at) the message names the model directory given.
     */
    @Test
    void aModelThatCannotBeCreatedIsNamedAsGiven() throws IOException {
        Path model = tmp.resolve("m".repeat(250));
        String line = oneLine(CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(),
                "--quiet"), ExitCode.USER_ERROR, "embstore train-classifier: " + model + ": cannot create the model directory (");
        assertFalse(line.contains(".training-"), line);
        assertEquals(List.of(train.getFileName(), vectors.getFileName(), store.getFileName()).stream().sorted().toList(),
                entries().stream().map(Path::getFileName).sorted().toList(), "nothing left behind");
    }

    @Test
    void aFileGivenAsTheModelIsNotAModelDirectory() throws IOException {
        Path file = Files.writeString(tmp.resolve("afile"), "not a model\n");
        oneLine(CliRun.of("test-classifier", "--model", file.toString(), "--test", train.toString()), ExitCode.USER_ERROR,
                "embstore test-classifier: " + file + ": not a directory: expected a model directory");
        oneLine(CliRun.of("predict", "--model", file.toString(), "--input", train.toString()), ExitCode.USER_ERROR,
                "embstore predict: " + file + ": not a directory: expected a model directory");
        oneLine(CliRun.of("test-classifier", "--model", tmp.resolve("absent").toString(), "--test", train.toString()),
                ExitCode.NOT_FOUND, "embstore test-classifier: " + tmp.resolve("absent") + ": no such model directory");
    }

    // ------------------------------------------------------------------------------------------------ evaluate

    @Test
    void evaluateWithoutAnyQuestionOrPairIsAnError() throws IOException {
        Path sectionsOnly = Files.writeString(tmp.resolve("a.txt"), ": capital-common-countries\n\n: family\n");
        Path commentsOnly = Files.writeString(tmp.resolve("p.txt"), "# word1 word2 score\n\n");
        Path pairs = Files.writeString(tmp.resolve("pairs.txt"), "cat dog 5\ndog bird 3\ncat bird 2\n");
        for (String empty : List.of("/dev/null", sectionsOnly.toString())) {
            CliRun run = CliRun.of("evaluate", store.toString(), "--word-pairs", pairs.toString(), "--analogies", empty);
            oneLine(run, ExitCode.USER_ERROR, "embstore evaluate: " + empty + ": no questions in the file");
            assertEquals("", run.out(), "no half report");
        }
        for (String empty : List.of("/dev/null", commentsOnly.toString())) {
            oneLine(CliRun.of("evaluate", store.toString(), "--word-pairs", empty), ExitCode.USER_ERROR,
                    "embstore evaluate: " + empty + ": no word pairs in the file");
        }
        // Pairs whose words are all unknown are a result (all skipped), not an empty file.
        Path unknown = Files.writeString(tmp.resolve("u.txt"), "zebra yak 3\n");
        assertTrue(ok("evaluate", store.toString(), "--word-pairs", unknown.toString()).out().contains("(1 skipped"));
    }

    // ------------------------------------------------------------------------------ excerpts of binary input

    @Test
    void excerptsOfBinaryInputArePrintableAndShort() throws IOException {
        // A GloVe-looking first line, then a "value" of control bytes, escape sequences and a megabyte of junk.
        byte[] junk = new byte[1 << 20];
        for (int i = 0; i < junk.length; i++) {
            junk[i] = (byte) "\u0000\u0007\u001b[2J\u0085\u00ffabc".charAt(i % 10);
        }
        Path file = tmp.resolve("binary.bin");
        try (var out = Files.newOutputStream(file)) {
            out.write("w 1 2\nx 1 ".getBytes(StandardCharsets.US_ASCII));
            out.write(junk);
            out.write('\n');
        }
        Path target = tmp.resolve("o");
        CliRun run = CliRun.of("convert", "--format", "glove", file.toString(), target.toString(), "--quiet");
        String line = oneLine(run, ExitCode.USER_ERROR, "embstore convert: " + file + ": line 2: ");
        assertTrue(line.length() < 500, () -> line.length() + " characters: " + line);
        assertTrue(line.chars().allMatch(c -> c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0)), line);
        assertTrue(line.contains("'\\x00\\x07\\x1b[2J"), line);
        assertFalse(Files.exists(target));
    }
}
