package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.store.SubwordLayout;
import io.embstore.store.Subwords;
import io.embstore.store.WritableStore;
import io.embstore.trainer.SparseTrainer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fastText {@code .bin} models against Debian's {@code fasttext} CLI as the oracle: small models are trained here
 * on the shared corpora, converted, and every vector the store gives (words it has and words it must build from
 * n-grams, non-ASCII ones too) is compared with {@code fasttext print-word-vectors}, which prints five significant
 * digits: hence cosine >= 0.9999 and relative error <= 1e-4.
 */
class FastTextBinTest {
    /** Words no model here has: accents, CJK, an emoji (4-byte UTF-8), one letter, a long one. */
    private static final List<String> ABSENT = List.of("naïve", "日本語", "zzqxv", "Straße", "🙂ok", "q",
            "antidisestablishmentarianismus", "ÉCOLE");

    @TempDir
    static Path models;
    @TempDir
    Path tmp;

    private static Path skipgram;
    private static Path supervised;

    @BeforeAll
    static void trainModels() throws Exception {
        requireFastText();
        Path lee = SharedData.file("lee_background.cor");
        skipgram = models.resolve("sg");
        fastText("skipgram", "-input", lee.toString(), "-output", skipgram.toString(), "-dim", "16", "-bucket", "2000",
                "-minn", "3", "-maxn", "6", "-epoch", "1", "-thread", "1", "-verbose", "0");
        supervised = models.resolve("sup");
        fastText("supervised", "-input", SharedData.file("mr-train.txt").toString(), "-output", supervised.toString(),
                "-dim", "8", "-bucket", "1000", "-maxn", "4", "-epoch", "1", "-thread", "1", // minn: supervised's 0
                "-verbose", "0");
    }

    @Test
    void skipgramVectorsMatchPrintWordVectors() throws Exception {
        Path store = convert(skipgram.resolveSibling("sg.bin"));
        CliRun verify = CliRun.of("verify", store.toString());
        assertEquals(0, verify.status(), "bucket rows' placeholder names are not vocabulary damage: " + verify);
        List<String> present = new ArrayList<>();
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            SubwordLayout layout = table.subwords().orElseThrow().layout();
            assertEquals(new SubwordLayout(3, 6, 2000, table.rows() - 2000), layout);
            for (long row = 0; row < layout.wordRows(); row += 7) {
                present.add(table.word(row));
            }
            for (String w : ABSENT) {
                assertFalse(table.contains(w), w);
            }
        }
        List<String> words = new ArrayList<>(present);
        words.addAll(ABSENT);
        Map<String, float[]> oracle = printWordVectors(skipgram.resolveSibling("sg.bin"), words);
        CliRun get = CliRun.of(Stream.concat(Stream.of("get", store.toString(), "--json"), words.stream())
                .toArray(String[]::new));
        assertEquals(0, get.status(), get.toString());
        JsonNode vectors = get.json().get("vectors");
        assertEquals(words.size(), vectors.size());
        for (JsonNode v : vectors) {
            String word = v.get("word").asText();
            boolean absent = ABSENT.contains(word);
            assertEquals(absent, v.has("subword"), word);
            assertEquals(absent, !v.has("row"), word);
            assertClose(word, oracle.get(word), floats(v.get("vector")));
        }
        // The Java API gives the same values as the CLI.
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            Subwords subwords = table.subwords().orElseThrow();
            for (String w : ABSENT) {
                float[] v = new float[table.dim()];
                assertTrue(subwords.vector(w, v) > 0, w);
                assertClose(w, oracle.get(w), v);
            }
        }
    }

    @Test
    void approximateSearchIsRefusedRatherThanAnsweringBucketRows() {
        Path store = convert(skipgram.resolveSibling("sg.bin"));
        CliRun index = CliRun.of("index", store.toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, index.status(), index.toString());
        assertTrue(index.err().contains("n-gram bucket rows") && index.errLines().length == 1, index.toString());
        assertFalse(Files.exists(store.resolve("ann.index")));
        CliRun similar = CliRun.of("similar", store.toString(), "king", "--approx");
        assertEquals(ExitCode.USER_ERROR, similar.status(), similar.toString());
        assertTrue(similar.err().contains("drop --approx"), similar.toString());
    }

    @Test
    void aDeltaExportOfATrainedModelHoldsItsWordsNotItsBuckets() throws Exception {
        Path store = convert(skipgram.resolveSibling("sg.bin"));
        long g0;
        String word;
        try (WritableStore s = EmbeddingStore.openForWriting(store);
             SparseTrainer t = SparseTrainer.attach(s, SparseTrainer.Options.sgd().threads(1).build())) {
            long firstBucket = s.subwords().orElseThrow().layout().firstBucketRow();
            word = s.word(3);
            g0 = t.checkpoint();
            float[] g = new float[2 * s.dim()];
            java.util.Arrays.fill(g, 0.5f);
            t.step(new int[] {3, (int) firstBucket + 5}, g); // a word row and a bucket row
            t.checkpoint();
        }
        Path delta = tmp.resolve("delta.vec");
        CliRun run = CliRun.of("export", store.toString(), delta.toString(), "--changed-since", Long.toString(g0),
                "--quiet", "--json");
        assertEquals(0, run.status(), run.toString());
        assertEquals(1, run.json().get("rows").asLong(), run.toString());
        List<String> lines = Files.readAllLines(delta, StandardCharsets.UTF_8);
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).startsWith(word + " "), lines.toString());
    }

    @Test
    void exportWritesTheWordsAsFastTextsVecFile() throws Exception {
        Path store = convert(skipgram.resolveSibling("sg.bin"));
        Path exported = tmp.resolve("exported.vec");
        CliRun run = CliRun.of("export", store.toString(), exported.toString(), "--quiet");
        assertEquals(0, run.status(), run.toString());
        List<String> ours = Files.readAllLines(exported, StandardCharsets.UTF_8);
        List<String> theirs = Files.readAllLines(skipgram.resolveSibling("sg.vec"), StandardCharsets.UTF_8);
        assertEquals(theirs.get(0), ours.get(0), "the header: words x dim");
        assertEquals(theirs.size(), ours.size());
        // Every word's vector, composed at the conversion, against the one fastText composed for its .vec.
        for (int i = 1; i < ours.size(); i++) {
            String[] a = theirs.get(i).strip().split(" ");
            String[] b = ours.get(i).strip().split(" ");
            assertEquals(a[0], b[0], "line " + (i + 1));
            assertClose(a[0], parse(a), parse(b));
        }
    }

    private static float[] parse(String[] fields) {
        float[] v = new float[fields.length - 1];
        for (int i = 1; i < fields.length; i++) {
            v[i - 1] = Float.parseFloat(fields[i]);
        }
        return v;
    }

    @Test
    void supervisedModelKeepsWordsNotLabels() throws Exception {
        Path bin = supervised.resolveSibling("sup.bin");
        Path store = convert(bin);
        List<String> words = new ArrayList<>(List.of("the", "movie", "gorgeous"));
        words.addAll(ABSENT);
        Map<String, float[]> oracle = printWordVectors(bin, words);
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            assertFalse(table.contains("__label__pos"), "labels are not word rows");
            // fastText counts n-gram lengths from 1, so its supervised default minn 0 makes the n-grams of minn 1.
            assertEquals(1, table.subwords().orElseThrow().layout().minn());
            for (String w : words) {
                float[] v = new float[table.dim()];
                if (table.contains(w)) {
                    table.read(table.rowOf(w), v);
                } else {
                    table.subwords().orElseThrow().vector(w, v);
                }
                assertClose(w, oracle.get(w), v);
            }
        }
    }

    @Test
    void queriesAnswerAbsentWordsFromSubwordsAndRankWordsOnly() throws Exception {
        Path store = convert(skipgram.resolveSibling("sg.bin"));
        long wordRows;
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            wordRows = table.subwords().orElseThrow().layout().wordRows();
            // A bucket row's vocabulary name is not a word.
            assertEquals(-1, table.rowOf(Subwords.bucketWord(0)));
            List<Neighbor> near = table.mostSimilar("naïve", 3000);
            assertEquals(wordRows, near.size(), "every word row ranked, and no bucket row");
            assertTrue(near.stream().allMatch(n -> n.row() < wordRows));
        }
        CliRun info = CliRun.of("info", store.toString(), "--json");
        assertEquals(0, info.status(), info.toString());
        JsonNode layout = info.json().get("subwords");
        assertEquals(List.of(3, 6, 2000, (int) wordRows), List.of(layout.get("minn").asInt(), layout.get("maxn").asInt(),
                layout.get("buckets").asInt(), layout.get("word_rows").asInt()), info.toString());
        CliRun similar = CliRun.of("similar", store.toString(), "naïve", "-k", "5", "--json");
        assertEquals(0, similar.status(), similar.toString());
        assertTrue(similar.err().contains("'naïve' is not in the vocabulary: its vector is the mean of its character n-grams"),
                similar.toString());
        for (JsonNode n : similar.json().get("naïve")) {
            assertTrue(n.get("row").asLong() < wordRows, similar.toString());
        }
        CliRun analogy = CliRun.of("analogy", store.toString(), "日本語", "the", "zzqxv", "--json");
        assertEquals(0, analogy.status(), analogy.toString());
        assertEquals(10, analogy.json().size());
        CliRun similarity = CliRun.of("similarity", store.toString(), "the", "naïve", "--json");
        assertEquals(0, similarity.status(), similarity.toString());
        assertTrue(similarity.json().get("subword").asBoolean(), similarity.toString());
        CliRun known = CliRun.of("similarity", store.toString(), "the", "of", "--json");
        assertFalse(known.json().has("subword"), known.toString());

        for (String[] refused : List.of(new String[] {"get", store.toString(), "naïve"},
                new String[] {"similar", store.toString(), "naïve"},
                new String[] {"analogy", store.toString(), "the", "of", "naïve"},
                new String[] {"similarity", store.toString(), "the", "naïve"})) {
            String[] args = Stream.concat(Stream.of(refused), Stream.of("--no-subwords")).toArray(String[]::new);
            CliRun run = CliRun.of(args);
            assertEquals(ExitCode.NOT_FOUND, run.status(), run.toString());
            assertTrue(run.err().contains("'naïve' is not in the vocabulary"), run.toString());
        }
    }

    @Test
    void aCopyToAnotherDtypeKeepsTheSubwords() throws Exception {
        Path store = convert(skipgram.resolveSibling("sg.bin"));
        Path f16 = tmp.resolve("f16");
        CliRun copy = CliRun.of("convert", store.toString(), f16.toString(), "--dtype", "f16", "--quiet");
        assertEquals(0, copy.status(), copy.toString());
        Map<String, float[]> oracle = printWordVectors(skipgram.resolveSibling("sg.bin"), ABSENT);
        try (EmbeddingStore table = EmbeddingStore.open(f16)) {
            assertEquals(new SubwordLayout(3, 6, 2000, table.rows() - 2000), table.subwords().orElseThrow().layout());
            float[] v = new float[table.dim()];
            table.subwords().orElseThrow().vector("naïve", v);
            // f16 rows: about 3 decimal digits, so a looser bound than the f32 store's.
            double dot = 0;
            double ee = 0;
            double aa = 0;
            float[] e = oracle.get("naïve");
            for (int i = 0; i < v.length; i++) {
                dot += (double) e[i] * v[i];
                ee += (double) e[i] * e[i];
                aa += (double) v[i] * v[i];
            }
            assertTrue(dot / Math.sqrt(ee * aa) > 0.999, "cosine " + dot / Math.sqrt(ee * aa));
        }
    }

    @Test
    void storesWithoutSubwordsStillRefuseAbsentWords() {
        Path store = tmp.resolve("vec");
        CliRun convert = CliRun.of("convert", skipgram.resolveSibling("sg.vec").toString(), store.toString(), "--quiet");
        assertEquals(0, convert.status(), convert.toString());
        CliRun get = CliRun.of("get", store.toString(), "naïve");
        assertEquals(ExitCode.NOT_FOUND, get.status(), get.toString());
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            assertTrue(table.subwords().isEmpty());
        }
    }

    @Test
    void truncatedModelsAreErrorsNamingTheOffset() throws Exception {
        byte[] model = Files.readAllBytes(skipgram.resolveSibling("sg.bin"));
        // In the magic, the arguments, the dictionary, the input matrix's shape and values, the output matrix.
        for (int cut : new int[] {3, 30, 100, 20_000, model.length / 2, model.length - 1}) {
            Path file = tmp.resolve("cut-" + cut + ".bin");
            Files.write(file, java.util.Arrays.copyOf(model, cut));
            CliRun run = CliRun.of("convert", file.toString(), tmp.resolve("s" + cut).toString(), "--quiet",
                    "--format", "fasttext-bin");
            assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
            assertEquals(1, run.errLines().length, run.toString());
            assertTrue(run.err().contains(file.toString()) && run.err().contains("byte offset"), run.toString());
            assertTrue(run.err().contains("the file ends") || run.err().contains("but the file has"), run.toString());
            assertNothingLeft("s" + cut);
        }
    }

    @Test
    void foreignFilesAreErrors() throws Exception {
        byte[] model = Files.readAllBytes(skipgram.resolveSibling("sg.bin"));
        Path version = tmp.resolve("version.bin");
        byte[] v99 = model.clone();
        ByteBuffer.wrap(v99).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 99);
        Files.write(version, v99);
        expectError(version, "fastText model version 99 is not supported", "byte offset 4");

        Path trailing = tmp.resolve("trailing.bin");
        Files.write(trailing, Stream.of(model, new byte[] {1, 2, 3}).reduce(FastTextBinTest::concat).orElseThrow());
        expectError(trailing, "the model ends here, but the file has 3 more bytes", "byte offset " + model.length);

        Path dictionary = tmp.resolve("dictionary.bin");
        byte[] huge = model.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(64, Integer.MAX_VALUE);
        Files.write(dictionary, huge);
        expectError(dictionary, "the dictionary declares 2147483647 entries", "byte offset 64");

        Path text = tmp.resolve("text.vec");
        Files.writeString(text, "1 2\nword 0.5 0.25\n");
        expectError(text, "not a fastText model: expected the magic number 793712314", "byte offset 0");
    }

    @Test
    void quantizedModelsAreNotSupported() throws Exception {
        Path copy = models.resolve("q");
        Files.copy(supervised.resolveSibling("sup.bin"), copy.resolveSibling("q.bin"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        fastText("quantize", "-input", SharedData.file("mr-train.txt").toString(), "-output", copy.toString(),
                "-dsub", "2", "-verbose", "0");
        Path ftz = copy.resolveSibling("q.ftz");
        CliRun run = CliRun.of("convert", ftz.toString(), tmp.resolve("ftz").toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertTrue(run.err().contains(ftz + ": byte offset ")
                && run.err().contains("a quantized fastText model (.ftz) is not supported"), run.toString());
        assertNothingLeft("ftz");
    }

    private void expectError(Path file, String message, String where) throws IOException {
        CliRun run = CliRun.of("convert", file.toString(), tmp.resolve("out").toString(), "--quiet", "--format",
                "fasttext-bin");
        assertEquals(ExitCode.USER_ERROR, run.status(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().contains(file + ": " + where) && run.err().contains(message), run.toString());
        assertNothingLeft("out");
    }

    private void assertNothingLeft(String store) throws IOException {
        try (Stream<Path> files = Files.list(tmp)) {
            List<String> left = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.equals(store) || n.startsWith("." + store + ".tmp")).toList();
            assertEquals(List.of(), left);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private Path convert(Path bin) {
        Path store = tmp.resolve(bin.getFileName() + ".store");
        CliRun run = CliRun.of("convert", bin.toString(), store.toString(), "--quiet");
        assertEquals(0, run.status(), run.toString());
        return store;
    }

    /** fastText prints 5 significant digits: relative error <= 1e-4 and cosine >= 0.9999. */
    private static void assertClose(String word, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, word);
        double dot = 0;
        double ee = 0;
        double aa = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            dot += (double) expected[i] * actual[i];
            ee += (double) expected[i] * expected[i];
            aa += (double) actual[i] * actual[i];
            diff += ((double) expected[i] - actual[i]) * ((double) expected[i] - actual[i]);
        }
        double cosine = dot / Math.sqrt(ee * aa);
        double relative = Math.sqrt(diff / ee);
        if (cosine < 0.9999 || relative > 1e-4) {
            fail(word + ": cosine " + cosine + ", relative error " + relative + "\nexpected "
                    + java.util.Arrays.toString(expected) + "\nactual   " + java.util.Arrays.toString(actual));
        }
    }

    private static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) array.get(i).asDouble();
        }
        return v;
    }

    /** {@code fasttext print-word-vectors MODEL} for {@code words}, one a line on its standard input. */
    static Map<String, float[]> printWordVectors(Path model, List<String> words) throws Exception {
        Process p = new ProcessBuilder("fasttext", "print-word-vectors", model.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream in = p.getOutputStream()) {
                in.write((String.join("\n", words) + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // The process died: its exit code says so.
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "fasttext print-word-vectors did not finish");
        feeder.join();
        assertEquals(0, p.exitValue(), "fasttext print-word-vectors failed");
        Map<String, float[]> vectors = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            String[] fields = line.strip().split(" ");
            float[] v = new float[fields.length - 1];
            for (int i = 1; i < fields.length; i++) {
                v[i - 1] = Float.parseFloat(fields[i]);
            }
            vectors.put(fields[0], v);
        }
        assertEquals(words.size(), vectors.size(), "one line a word: " + out);
        return vectors;
    }

    /** Skips the class where fastText is not installed; fails instead when CI is true (.ci/run installs it). */
    static void requireFastText() {
        boolean present;
        try {
            Process p = new ProcessBuilder("fasttext").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(30, TimeUnit.SECONDS);
            present = true;
        } catch (IOException | InterruptedException e) {
            present = false;
        }
        String message = "the fasttext command is not installed (apt-get install fasttext)";
        if (!present && "true".equals(System.getenv("CI"))) {
            fail(message + " -- CI=true must run the fastText oracle tests");
        }
        Assumptions.assumeTrue(present, message + ": skipping the fastText oracle tests");
    }

    static void fastText(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("fasttext"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "fasttext " + args[0] + " did not finish");
        assertEquals(0, p.exitValue(), "fasttext " + String.join(" ", args) + ":\n" + out);
    }
}
