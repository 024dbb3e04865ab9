package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer;
import io.embstore.formats.ShortestFloatTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportCommandTest {
    @TempDir
    Path tmp;

    private static void ok(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(0, run.status(), run.toString());
    }

    /** A store of awkward floats: subnormals, extremes, signed zeros, long mantissas, and non-ASCII words. */
    private Path awkwardStore(long seed) {
        System.out.println("ExportCommandTest seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = 3000;
        int dim = 17;
        List<String> words = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            words.add(r % 13 == 0 ? "mot-é-" + r : r % 17 == 0 ? "語" + r : "w" + r);
        }
        Path dir = tmp.resolve("awkward");
        try (WritableStore s = EmbeddingStore.builder(dir).words(words).dim(dim).init(Init.zeros()).create()) {
            float[] v = new float[dim];
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < dim; k++) {
                    v[k] = switch (rnd.nextInt(6)) {
                        case 0 -> Float.intBitsToFloat(rnd.nextInt() & 0x807fffff);   // subnormal
                        case 1 -> Float.intBitsToFloat(rnd.nextInt(0x00800000, 0x7f800000) | (rnd.nextBoolean() ? 0x80000000 : 0));
                        case 2 -> rnd.nextBoolean() ? -0.0f : 0.0f;
                        case 3 -> rnd.nextBoolean() ? Float.MAX_VALUE : Float.MIN_VALUE;
                        default -> (float) (rnd.nextGaussian() * 0.4);
                    };
                }
                s.write(r, v);
            }
        }
        return dir;
    }

    private static long seed() {
        String fixed = System.getenv("EMBSTORE_SEED");
        return fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
    }

    private static void assertBitIdentical(Path a, Path b) {
        try (EmbeddingStore x = EmbeddingStore.open(a); EmbeddingStore y = EmbeddingStore.open(b)) {
            assertEquals(x.rows(), y.rows());
            float[] u = new float[x.dim()];
            float[] v = new float[y.dim()];
            for (long r = 0; r < x.rows(); r++) {
                assertEquals(x.word(r), y.word(r));
                x.read(r, u);
                y.read(r, v);
                for (int k = 0; k < u.length; k++) {
                    assertEquals(Float.floatToRawIntBits(u[k]), Float.floatToRawIntBits(v[k]), "row " + r + " value " + k);
                }
            }
        }
    }

    @Test
    void textRoundTripsAreBitIdentical() throws IOException {
        Path store = awkwardStore(seed());
        for (String format : List.of("word2vec", "glove")) {
            Path text = tmp.resolve(format + ".txt");
            ok("export", store.toString(), text.toString(), "--format", format, "--quiet");
            Path again = tmp.resolve(format + "-again");
            ok("convert", text.toString(), again.toString(), "--format", format, "--quiet");
            assertBitIdentical(store, again);
            Path text2 = tmp.resolve(format + "-2.txt");
            ok("export", again.toString(), text2.toString(), "--format", format, "--quiet");
            assertArrayEquals(Files.readAllBytes(text), Files.readAllBytes(text2), "text -> store -> text is the same text");
        }
    }

    /**
     * The text is exactly Float.toString's digits in NumPy's layout, word by word and value by value, whichever thread
     * formatted and wrote which block, and the gzip output decompresses to the same bytes.
     */
    @Test
    void textIsTheShortestDigitsInRowOrderWhateverTheThreads() throws IOException {
        Path store = awkwardStore(seed());
        StringBuilder expected = new StringBuilder();
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            expected.append(s.rows()).append(' ').append(s.dim()).append('\n');
            float[] v = new float[s.dim()];
            for (long r = 0; r < s.rows(); r++) {
                s.read(r, v);
                expected.append(s.word(r));
                for (float f : v) {
                    expected.append(' ').append(ShortestFloatTest.numpyLayout(f));
                }
                expected.append('\n');
            }
        }
        byte[] want = expected.toString().getBytes(StandardCharsets.UTF_8);
        for (String threads : List.of("1", "3", "8")) {
            Path out = tmp.resolve("t" + threads + ".vec");
            ok("export", store.toString(), out.toString(), "--threads", threads, "--quiet");
            assertArrayEquals(want, Files.readAllBytes(out), threads + " threads");
        }
        Path gz = tmp.resolve("t.vec.gz");
        ok("export", store.toString(), gz.toString(), "--threads", "3", "--quiet");
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(gz))) {
            assertArrayEquals(want, in.readAllBytes(), "gzip");
        }
    }

    @Test
    void binaryAndGzipRoundTrips() {
        Path store = awkwardStore(seed());
        Path bin = tmp.resolve("v.bin");
        ok("export", store.toString(), bin.toString(), "--format", "word2vec-binary", "--quiet");
        ok("convert", bin.toString(), tmp.resolve("from-bin").toString(), "--quiet");
        assertBitIdentical(store, tmp.resolve("from-bin"));
        Path gz = tmp.resolve("v.vec.gz");
        ok("export", store.toString(), gz.toString(), "--quiet");
        ok("convert", gz.toString(), tmp.resolve("from-gz").toString(), "--quiet");
        assertBitIdentical(store, tmp.resolve("from-gz"));
    }

    @Test
    void realFileExportsBackToItsOwnValues() throws IOException {
        Path file = SharedData.file("test_glove.txt");
        ok("convert", file.toString(), tmp.resolve("g").toString(), "--quiet");
        Path out = tmp.resolve("g.txt");
        ok("export", tmp.resolve("g").toString(), out.toString(), "--format", "glove", "--quiet");
        List<String> original = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> exported = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(original.size(), exported.size());
        for (int i = 0; i < original.size(); i++) {
            String[] a = original.get(i).strip().split(" ");
            String[] b = exported.get(i).split(" ");
            assertEquals(a[0], b[0]);
            for (int k = 1; k < a.length; k++) {
                assertEquals(Float.parseFloat(a[k]), Float.parseFloat(b[k]), "line " + (i + 1) + " field " + k);
            }
        }
    }

    @Test
    void aWordListSelectsAndOrdersRows() throws IOException {
        Path file = SharedData.file("lee_fasttext.vec");
        ok("convert", file.toString(), tmp.resolve("f").toString(), "--quiet");
        Path words = Files.writeString(tmp.resolve("words.txt"), "to\nthe\n\nof\n");
        Path out = tmp.resolve("subset.vec");
        ok("export", tmp.resolve("f").toString(), out.toString(), "--words", words.toString(), "--quiet");
        List<String> lines = Files.readAllLines(out);
        assertEquals("3 10", lines.get(0));
        assertEquals(List.of("to", "the", "of"), lines.subList(1, 4).stream().map(l -> l.split(" ")[0]).toList());
        Files.writeString(words, "the\nzzzz-not-a-word\n");
        Path missing = tmp.resolve("missing.vec");
        CliRun run = CliRun.of("export", tmp.resolve("f").toString(), missing.toString(), "--words", words.toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run.toString());
        assertTrue(run.err().contains("line 2: 'zzzz-not-a-word' is not in the vocabulary"), run.err());
        assertFalse(Files.exists(missing), "no output on error");
        try (Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary file left");
        }
    }
    @Test
    void changedSinceExportsTheRowsTrainedAfterAGeneration() throws IOException {
        Path dir = tmp.resolve("trained");
        List<String> words = new ArrayList<>();
        for (int r = 0; r < 50; r++) {
            words.add("t" + r);
        }
        int dim = 4;
        long g0;
        long g1;
        try (WritableStore s = EmbeddingStore.builder(dir).words(words).dim(dim).init(Init.normal(3))
                .create();
             SparseTrainer t = SparseTrainer.attach(s,
                     SparseTrainer.Options.sgd().threads(1).build())) {
            g0 = t.checkpoint();
            float[] g = new float[3 * dim];
            Arrays.fill(g, 1f);
            t.step(new int[] {7, 31, 7}, g);
            g1 = t.checkpoint();
        }
        Path delta = tmp.resolve("delta.vec");
        CliRun run = CliRun.of("export", dir.toString(), delta.toString(), "--changed-since", Long.toString(g0), "--quiet",
                "--json");
        assertEquals(0, run.status(), run.toString());
        assertEquals(2, run.json().get("rows").asLong());
        long upTo = run.json().get("up_to").asLong();
        assertTrue(upTo >= g1, "complete up to the last checkpoint (close() makes one more): " + upTo + " vs " + g1);
        List<String> lines = Files.readAllLines(delta, StandardCharsets.UTF_8);
        assertEquals("2 4", lines.get(0));
        assertTrue(lines.get(1).startsWith("t7 ") && lines.get(2).startsWith("t31 "), lines.toString());
        // the values are the trained rows, exactly
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            float[] v = new float[dim];
            s.read(31, v);
            String[] f = lines.get(2).split(" ");
            for (int k = 0; k < dim; k++) {
                assertEquals(Float.floatToIntBits(v[k]), Float.floatToIntBits(Float.parseFloat(f[k + 1])));
            }
        }
        // nothing changed after the generation the last delta was complete up to: empty; before any history: every row
        ok("export", dir.toString(), tmp.resolve("none.vec").toString(), "--changed-since", Long.toString(upTo), "--quiet");
        assertEquals("0 4", Files.readAllLines(tmp.resolve("none.vec"), StandardCharsets.UTF_8).get(0));
        ok("export", dir.toString(), tmp.resolve("all.vec").toString(), "--changed-since", "-1", "--quiet");
        assertEquals("50 4", Files.readAllLines(tmp.resolve("all.vec"), StandardCharsets.UTF_8).get(0));
        CliRun both = CliRun.of("export", dir.toString(), tmp.resolve("x.vec").toString(), "--changed-since", "0",
                "--words", delta.toString());
        assertEquals(2, both.status(), both.toString());
    }

    /** A table without a vocabulary exports its row ids as words, in every format, and converts back to them. */
    @Test
    void anIdIndexedTableExportsItsRowIdsAsWords() throws IOException {
        Path dir = tmp.resolve("ids");
        ok("create", dir.toString(), "--rows", "5", "--dim", "3");
        for (String format : List.of("word2vec", "glove", "word2vec-binary")) {
            Path out = tmp.resolve("ids-" + format);
            ok("export", dir.toString(), out.toString(), "--format", format, "--quiet");
            Path back = tmp.resolve("ids-back-" + format);
            ok("convert", out.toString(), back.toString(), "--quiet");
            try (EmbeddingStore a = EmbeddingStore.open(dir); EmbeddingStore b = EmbeddingStore.open(back)) {
                assertEquals(5, b.rows(), format);
                float[] u = new float[3];
                float[] v = new float[3];
                for (long r = 0; r < 5; r++) {
                    assertEquals(Long.toString(r), b.word(r), format);
                    a.read(r, u);
                    b.read(r, v);
                    assertArrayEquals(u, v, format + " row " + r);
                }
            }
        }
        String help = CliRun.of("export", "--help").out();
        assertTrue(help.contains("row id"), "export --help says what a table without vocabulary is written as: " + help);
    }

    /**
     * The README's delta example as written: an id-indexed table from {@code create --rows}, a trainer that
     * checkpoints (the generation a reader holds the table as of), steps and checkpoints again, then
     * {@code export --changed-since} the generation the first checkpoint returned.
     */
    @Test
    void theReadmeDeltaExampleRuns() throws IOException {
        Path items = tmp.resolve("items");
        ok("create", items.toString(), "--rows", "1000", "--dim", "8", "--init", "uniform", "--seed", "7");
        long generation;
        try (WritableStore table = EmbeddingStore.openForWriting(items);
             SparseTrainer trainer = SparseTrainer.attach(table, SparseTrainer.Options.adam().learningRate(1e-3).build())) {
            generation = trainer.checkpoint();
            float[] grads = new float[2 * 8];
            Arrays.fill(grads, 0.5f);
            trainer.step(new int[] {42, 7}, grads);
            assertEquals(Set.of(7, 42), trainer.dirtySince(generation).stream().boxed().collect(Collectors.toSet()),
                    "dirtySince(the value checkpoint() returned), before the next checkpoint");
            trainer.checkpoint();
            assertEquals(Set.of(7, 42), trainer.dirtySince(generation).stream().boxed().collect(Collectors.toSet()),
                    "dirtySince(the value checkpoint() returned), after the next checkpoint");
        }
        Path delta = tmp.resolve("delta.vec");
        ok("export", items.toString(), delta.toString(), "--changed-since", Long.toString(generation), "--quiet");
        List<String> lines = Files.readAllLines(delta, StandardCharsets.UTF_8);
        assertEquals("2 8", lines.get(0));
        assertTrue(lines.get(1).startsWith("7 ") && lines.get(2).startsWith("42 "), lines.toString());
    }

    /** A generation the store has not reached is a mistake (a delta from another store, a typo), not "every row". */
    @Test
    void changedSinceAGenerationTheStoreHasNotReachedIsAnError() {
        Path dir = tmp.resolve("young");
        ok("create", dir.toString(), "--rows", "3", "--dim", "2");
        long current;
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            current = s.generation();
        }
        Path out = tmp.resolve("future.vec");
        CliRun run = CliRun.of("export", dir.toString(), out.toString(), "--changed-since", Long.toString(current + 1));
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertTrue(run.err().contains("current generation is " + current), run.err());
        assertFalse(Files.exists(out), "nothing written");
        ok("export", dir.toString(), out.toString(), "--changed-since", Long.toString(current), "--quiet");
    }
}
