package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {
    @TempDir
    Path tmp;

    /** One malformed file from src/test/resources/bad-vectors and what converting it must say. */
    private record BadCase(String file, List<String> options, int status, String where, List<String> fragments) {
    }

    private static List<BadCase> badCases() throws IOException {
        List<BadCase> cases = new ArrayList<>();
        try (InputStream in = ConvertCommandTest.class.getResourceAsStream("/bad-vectors/cases.tsv")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t");
                cases.add(new BadCase(f[0], f[1].equals("-") ? List.of() : List.of(f[1].split(" ")), Integer.parseInt(f[2]),
                        f[3].equals("-") ? null : f[3], List.of(f[4].split("\\|"))));
            }
        }
        return cases;
    }

    private static Path resource(String name) {
        try {
            return Path.of(ConvertCommandTest.class.getResource("/bad-vectors/" + name).toURI());
        } catch (java.net.URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** Every file in the folder has a case, and every case stops with its message, its status and no store. */
    @TestFactory
    Stream<DynamicTest> everyMalformedFileGivesAClearErrorAndLeavesNothing() throws IOException {
        List<BadCase> cases = badCases();
        try (Stream<Path> files = Files.list(resource("cases.tsv").getParent())) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("cases.tsv")).sorted().toList();
            assertEquals(names, cases.stream().map(BadCase::file).sorted().toList(), "each bad file has exactly one case");
        }
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.file(), () -> {
            Path dir = Files.createTempDirectory(tmp, "case");
            Path store = dir.resolve("store");
            List<String> args = new ArrayList<>(List.of("convert", resource(c.file()).toString(), store.toString()));
            args.addAll(c.options());
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(c.status(), run.status(), run.toString());
            String[] lines = run.errLines();
            assertEquals(1, lines.length, "one line on stderr, no stack trace: " + run);
            String message = lines[0];
            assertTrue(message.contains(c.file()), "names the file: " + message);
            if (c.where() != null) {
                assertTrue(message.contains(c.where() + ":") || message.contains(c.where() + " "), "names " + c.where() + ": " + message);
            }
            for (String fragment : c.fragments()) {
                assertTrue(message.contains(fragment), "says '" + fragment + "': " + message);
            }
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(List.of(), left.toList(), "no store and no temporary directory left");
            }
        }));
    }

    private static EmbeddingStore convert(Path in, Path store, String... options) {
        List<String> args = new ArrayList<>(List.of("convert", in.toString(), store.toString(), "--quiet"));
        args.addAll(List.of(options));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, run.status(), run.toString());
        return EmbeddingStore.open(store);
    }

    /** Each row of a text file as the word and what Float.parseFloat makes of the last dim fields. */
    private record TextRow(String word, float[] values) {
    }

    private static List<TextRow> readText(Path file, boolean header) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<TextRow> rows = new ArrayList<>();
        int dim = -1;
        for (int i = header ? 1 : 0; i < lines.size(); i++) {
            String[] f = lines.get(i).strip().split(" ");
            if (f.length < 2) {
                continue;
            }
            if (dim < 0) {
                dim = header ? Integer.parseInt(lines.get(0).strip().split(" ")[1]) : f.length - 1;
            }
            float[] v = new float[dim];
            for (int k = 0; k < dim; k++) {
                v[k] = Float.parseFloat(f[f.length - dim + k]);
            }
            rows.add(new TextRow(String.join(" ", Arrays.copyOf(f, f.length - dim)), v));
        }
        return rows;
    }

    private static void assertHolds(EmbeddingStore s, List<TextRow> expected) {
        assertEquals(expected.size(), s.rows());
        float[] got = new float[s.dim()];
        for (int r = 0; r < expected.size(); r++) {
            assertEquals(expected.get(r).word(), s.word(r));
            assertEquals(r, s.rowOf(expected.get(r).word()));
            s.read(r, got);
            assertArrayEquals(expected.get(r).values(), got, "row " + r + " " + expected.get(r).word());
        }
    }

    @Test
    void realGloveFileHoldsExactlyWhatTheFileSays() throws IOException {
        Path file = SharedData.file("test_glove.txt");
        try (EmbeddingStore s = convert(file, tmp.resolve("g"))) {
            assertEquals(50, s.dim());
            assertEquals(76 * 4L, Files.size(tmp.resolve("g").resolve("norms.f32")), "norms computed at conversion");
            assertHolds(s, readText(file, false));
        }
    }

    @Test
    void realFastTextVecWithTrailingSpaces() throws IOException {
        Path file = SharedData.file("lee_fasttext.vec");
        try (EmbeddingStore s = convert(file, tmp.resolve("f"))) {
            assertEquals(1762, s.rows());
            assertEquals(10, s.dim());
            assertHolds(s, readText(file, true));
        }
    }

    @Test
    void realWord2vecBinaryHoldsTheFilesBytes() throws IOException {
        Path file = SharedData.file("euclidean_vectors.bin");
        byte[] bytes = Files.readAllBytes(file);
        try (EmbeddingStore s = convert(file, tmp.resolve("b"))) {
            assertEquals(2747, s.rows());
            assertEquals(10, s.dim());
            int pos = bytes.length - (int) (2747 * (10 * 4L));
            // Walk the file as gensim does: word up to a space, then 40 bytes, then an optional newline.
            int p = "2747 10\n".length();
            float[] got = new float[10];
            for (int r = 0; r < 2747; r++) {
                while (bytes[p] == '\n') {
                    p++;
                }
                int space = p;
                while (bytes[space] != ' ') {
                    space++;
                }
                assertEquals(new String(bytes, p, space - p, StandardCharsets.UTF_8), s.word(r));
                ByteBuffer bb = ByteBuffer.wrap(bytes, space + 1, 40).order(ByteOrder.LITTLE_ENDIAN);
                s.read(r, got);
                for (int k = 0; k < 10; k++) {
                    assertEquals(Float.floatToRawIntBits(bb.getFloat()), Float.floatToRawIntBits(got[k]));
                }
                p = space + 41;
            }
            assertTrue(pos > 0);
        }
    }

    private static Path gzip(Path file, Path out) throws IOException {
        try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(out))) {
            Files.copy(file, os);
        }
        return out;
    }

    private static void assertSameStore(EmbeddingStore a, EmbeddingStore b) {
        assertEquals(a.rows(), b.rows());
        assertEquals(a.dim(), b.dim());
        float[] x = new float[a.dim()];
        float[] y = new float[b.dim()];
        for (long r = 0; r < a.rows(); r++) {
            assertEquals(a.word(r), b.word(r));
            a.read(r, x);
            b.read(r, y);
            for (int k = 0; k < x.length; k++) {
                assertEquals(Float.floatToRawIntBits(x[k]), Float.floatToRawIntBits(y[k]), "row " + r);
            }
        }
    }

    @Test
    void gzipInputGivesTheSameStoreForEveryFormat() throws IOException {
        for (String name : List.of("test_glove.txt", "lee_fasttext.vec", "euclidean_vectors.bin")) {
            Path file = SharedData.file(name);
            try (EmbeddingStore plain = convert(file, tmp.resolve(name + ".plain"));
                 EmbeddingStore zipped = convert(gzip(file, tmp.resolve(name + ".gz")), tmp.resolve(name + ".gzstore"))) {
                assertSameStore(plain, zipped);
            }
        }
    }

    /** A generated GloVe-style file big enough to be cut into many chunks. */
    private static Path generate(Path file, int rows, int dim, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder b = new StringBuilder();
        try (var w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int r = 0; r < rows; r++) {
                b.setLength(0);
                b.append(r % 101 == 0 ? "wörd" : "w").append(r);
                for (int k = 0; k < dim; k++) {
                    b.append(' ').append(Float.toString((float) (rnd.nextGaussian() * 0.4)));
                }
                w.append(b).append('\n');
            }
        }
        return file;
    }

    @Test
    void parallelParsingEqualsOneThreadAndTheGzipStream() throws IOException {
        Path file = generate(tmp.resolve("many.txt"), 30_000, 50, 7);
        assertTrue(Files.size(file) > 8 << 20, "several chunks");
        try (EmbeddingStore one = convert(file, tmp.resolve("one"), "--threads", "1");
             EmbeddingStore four = convert(file, tmp.resolve("four"), "--threads", "4");
             EmbeddingStore gz = convert(gzip(file, tmp.resolve("many.txt.gz")), tmp.resolve("gz"))) {
            assertEquals(30_000, one.rows());
            assertSameStore(one, four);
            assertSameStore(one, gz);
            float[] v = new float[50];
            one.read(12_345, v);
            assertEquals("w12345", one.word(12_345));
        }
    }

    @Test
    void bomCrlfSpacedTokensAndLimit() throws IOException {
        Path file = tmp.resolve("odd.txt");
        Files.write(file, ("\uFEFFthe 0.5 -1\r\n. . . 1 2\r\n\r\nat name@x.com 3 4\r\n1 x 5 6\r\nlast 7 8").getBytes(StandardCharsets.UTF_8));
        try (EmbeddingStore s = convert(file, tmp.resolve("odd"))) {
            assertEquals(5, s.rows());
            assertEquals(List.of("the", ". . .", "at name@x.com", "1 x", "last"),
                    List.of(s.word(0), s.word(1), s.word(2), s.word(3), s.word(4)));
            float[] v = new float[2];
            s.read(3, v);
            assertArrayEquals(new float[] {5, 6}, v);
        }
        try (EmbeddingStore s = convert(file, tmp.resolve("limited"), "--limit", "2")) {
            assertEquals(2, s.rows());
        }
    }

    @Test
    void word2vecTextWhoseFirstWordHasSpacesIsDetectedAsText() throws IOException {
        // What exporting a store with such a word gives (the classifier's "<unknown word>" row, GloVe 840B's tokens).
        Path file = tmp.resolve("spaced.vec");
        Files.write(file, "2 3\n<unknown word> 0.25 -1 3e-2\nb 1 2 3\n".getBytes(StandardCharsets.UTF_8));
        try (EmbeddingStore s = convert(file, tmp.resolve("spaced"))) {
            assertEquals(2, s.rows());
            assertEquals("<unknown word>", s.word(0));
            float[] v = new float[3];
            s.read(0, v);
            assertArrayEquals(new float[] {0.25f, -1f, 3e-2f}, v);
        }
    }

    /**
     * A small word2vec text file whose first row has a value the parser does not take (a hexadecimal float) is text
     * with a bad value, not binary: it was read as binary, here without an error, from the ASCII bytes.
     */
    @Test
    void aTextFileWithAnUnreadableFirstValueIsTextWithAnErrorNamingTheValue() throws IOException {
        Path file = tmp.resolve("hex.vec");
        Files.write(file, "2 3\nhello 0x1p3 1.0 2.0\nworld 1.0 2.0 3.0\n".getBytes(StandardCharsets.UTF_8));
        CliRun run = CliRun.of("convert", file.toString(), tmp.resolve("hex").toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertTrue(run.err().contains("line 2") && run.err().contains("'0x1p3' is not a number"), run.err());
        assertFalse(Files.exists(tmp.resolve("hex")));
        // A binary file of dim 1 and 2 whose value bytes happen to be printable stays binary.
        for (int dim = 1; dim <= 2; dim++) {
            Path bin = tmp.resolve("printable" + dim + ".bin");
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            b.writeBytes(("1 " + dim + "\nw ").getBytes(StandardCharsets.US_ASCII));
            for (int k = 0; k < dim; k++) {
                b.writeBytes(new byte[] {'A', 'B', 'C', '>'}); // 0.18590117f, little-endian
            }
            b.write('\n');
            Files.write(bin, b.toByteArray());
            try (EmbeddingStore s = convert(bin, tmp.resolve("printable" + dim))) {
                float[] v = new float[dim];
                s.read(0, v);
                assertEquals(Float.intBitsToFloat(0x3e434241), v[0], "dim " + dim);
            }
        }
    }

    @Test
    void duplicatesKeepFirstOrLastAndAreReported() throws IOException {
        Path file = resource("duplicate-word.txt");
        CliRun first = CliRun.of("convert", file.toString(), tmp.resolve("first").toString());
        assertEquals(0, first.status(), first.toString());
        assertTrue(first.out().contains("1 duplicate words kept their first vector (e.g. a)"), first.out());
        CliRun last = CliRun.of("convert", file.toString(), tmp.resolve("last").toString(), "--on-duplicate", "last");
        assertEquals(0, last.status(), last.toString());
        float[] v = new float[3];
        try (EmbeddingStore a = EmbeddingStore.open(tmp.resolve("first"));
             EmbeddingStore b = EmbeddingStore.open(tmp.resolve("last"))) {
            assertEquals(2, a.rows());
            a.read(a.rowOf("a"), v);
            assertArrayEquals(new float[] {1, 2, 3}, v);
            b.read(b.rowOf("a"), v);
            assertArrayEquals(new float[] {7, 8, 9}, v);
        }
    }

    @Test
    void escapeHatchesForEncodingAndNonFiniteValues() {
        try (EmbeddingStore s = convert(resource("invalid-utf8.txt"), tmp.resolve("replace"), "--encoding", "replace")) {
            assertEquals("café", s.word(0));
            assertEquals("na\uFFFDve", s.word(1));
        }
        try (EmbeddingStore s = convert(resource("invalid-utf8.txt"), tmp.resolve("latin1"), "--encoding", "latin1")) {
            assertEquals("cafÃ©", s.word(0), "Latin-1 reads every byte as one character");
            assertEquals("naïve", s.word(1));
        }
        try (EmbeddingStore s = convert(resource("nan.txt"), tmp.resolve("nan"), "--allow-nonfinite")) {
            float[] v = new float[3];
            s.read(1, v);
            assertTrue(Float.isNaN(v[1]));
        }
    }

    @Test
    void f16StoreAndJsonSummary() {
        CliRun run = CliRun.of("convert", resource("duplicate-word.txt").toString(), tmp.resolve("h").toString(),
                "--dtype", "f16", "--json");
        assertEquals(0, run.status(), run.toString());
        assertEquals(2, run.json().get("rows").asLong());
        assertEquals("glove", run.json().get("format").asText());
        assertEquals("f16", run.json().get("dtype").asText());
        assertEquals(1, run.json().get("duplicates").asLong());
    }

    @Test
    void usageMistakesAreOneLine() throws IOException {
        CliRun missing = CliRun.of("convert", tmp.resolve("nope.txt").toString(), tmp.resolve("s").toString());
        assertEquals(ExitCode.NOT_FOUND, missing.status(), missing.toString());
        assertTrue(missing.err().contains("no such file"), missing.err());
        Files.createDirectory(tmp.resolve("exists"));
        CliRun exists = CliRun.of("convert", resource("nan.txt").toString(), tmp.resolve("exists").toString());
        assertEquals(ExitCode.USER_ERROR, exists.status(), exists.toString());
        assertTrue(exists.err().contains("already exists"), exists.err());
        CliRun format = CliRun.of("convert", resource("nan.txt").toString(), tmp.resolve("s").toString(), "--format", "xml");
        assertEquals(ExitCode.USAGE, format.status(), format.toString());
        assertFalse(Files.exists(tmp.resolve("s")));
    }
}
