package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Dtype;
import io.embstore.classifier.ClassifierGradientTest;
import io.embstore.classifier.ClassifierModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code compact-classifier} (a model for prediction: no optimizer state, optionally f16) and word queries on a
 * model directory, which rank its words and never its n-gram bucket rows.
 */
class CompactClassifierTest {
    @TempDir
    Path tmp;

    private Path train;
    private Path test;

    /** As ClassifierCommandsTest's: class words among noise words, separable by a bag of words. */
    @BeforeEach
    void syntheticData() throws IOException {
        long seed = ClassifierGradientTest.seed();
        System.out.println("CompactClassifierTest seed " + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        Random random = new Random(seed);
        train = tmp.resolve("train.txt");
        test = tmp.resolve("test.txt");
        Files.write(train, synthetic(random, 400));
        Files.write(test, synthetic(random, 150));
    }

    private static List<String> synthetic(Random random, int lines) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            boolean pos = random.nextBoolean();
            List<String> words = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                words.add((pos ? "pos" : "neg") + random.nextInt(30));
                words.add("noise" + random.nextInt(50));
            }
            out.add("__label__" + (pos ? "pos" : "neg") + " " + String.join(" ", words));
        }
        return out;
    }

    /** Trains a bigram model (so that it has bucket rows) and returns train-classifier's JSON. */
    private JsonNode trainBigrams(Path data, Path model, String... more) {
        List<String> args = new ArrayList<>(List.of("train-classifier", "--train", data.toString(), "--model",
                model.toString(), "--ngrams", "2", "--quiet", "--json"));
        args.addAll(List.of(more));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(ExitCode.OK, run.status(), run::toString);
        JsonNode json = run.json();
        assertTrue(json.get("bucket_rows").asInt() > 0, run::toString);
        return json;
    }

    /** A small unigram model, {@code model} in the temporary directory, for the tests of the command's rules. */
    private Path trainSmall() {
        Path model = tmp.resolve("model");
        CliRun trained = CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(),
                "--dim", "4", "--epochs", "1", "--quiet");
        assertEquals(ExitCode.OK, trained.status(), trained::toString);
        return model;
    }

    private static JsonNode compact(Path model, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("compact-classifier", "--model", model.toString(), "--out",
                out.toString(), "--json"));
        args.addAll(List.of(more));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(ExitCode.OK, run.status(), run::toString);
        return run.json();
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The bucket rows among {@code words}, the first few of them: none is the expectation. */
    private static List<String> buckets(List<String> words) {
        return words.stream().filter(w -> w.startsWith(ClassifierModel.BUCKET_PREFIX)).limit(5).toList();
    }

    /** The words {@code similar --json} answers for {@code word}. */
    private static List<String> similar(Path model, String word, int k) {
        CliRun run = CliRun.of("similar", model.toString(), word, "-k", Integer.toString(k), "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        List<String> words = new ArrayList<>();
        run.json().get(word).forEach(n -> words.add(n.get("word").asText()));
        return words;
    }

    @Test
    void wordQueriesOnAModelRankItsWordsNotItsBucketRows() {
        Path model = tmp.resolve("model");
        JsonNode trained = trainBigrams(train, model, "--buckets", "5000", "--dim", "8", "--epochs", "1");
        int words = trained.get("words").asInt();
        int all = 1 + words + trained.get("bucket_rows").asInt();
        // Every row asked for: the unknown word and every other word, not one bucket.
        List<String> found = similar(model, "pos1", all);
        assertEquals(List.of(), buckets(found), "bucket rows answered a word query");
        assertEquals(words, found.size(), "the unknown word and the words other than pos1");

        CliRun analogy = CliRun.of("analogy", model.toString(), "pos1", "pos2", "neg3", "-k", Integer.toString(all), "--json");
        assertEquals(ExitCode.OK, analogy.status(), analogy::toString);
        assertEquals(words - 2, analogy.json().size());
        List<String> answers = new ArrayList<>();
        analogy.json().forEach(n -> answers.add(n.get("word").asText()));
        assertEquals(List.of(), buckets(answers), "bucket rows answered an analogy");

        // A bucket row may still be asked about; the answers are words.
        String bucket;
        try (EmbeddingStore s = EmbeddingStore.open(model)) {
            bucket = s.word(all - 1);
        }
        assertTrue(bucket.startsWith(ClassifierModel.BUCKET_PREFIX), bucket);
        assertEquals(words + 1, similar(model, bucket, all).size());
    }

    @Test
    void aCompactModelHasNoOptimizerStateAndPredictsTheSame() throws IOException {
        Path model = tmp.resolve("model");
        trainBigrams(train, model, "--buckets", "5000", "--dim", "12");
        Path small = tmp.resolve("small");
        JsonNode compacted = compact(model, small);
        assertEquals("f32", compacted.get("dtype").asText());
        assertTrue(files(model).stream().anyMatch(f -> f.startsWith("optim.")), files(model).toString());
        assertFalse(files(small).stream().anyMatch(f -> f.startsWith("optim.")), files(small).toString());
        assertTrue(compacted.get("out_bytes").asLong() < compacted.get("model_bytes").asLong() / 2, compacted.toString());
        assertEquals(Files.readString(model.resolve(ClassifierModel.FILE)), Files.readString(small.resolve(ClassifierModel.FILE)));
        try (EmbeddingStore a = EmbeddingStore.open(model); EmbeddingStore b = EmbeddingStore.open(small)) {
            assertEquals(a.rows(), b.rows());
            for (long r = 0; r < a.rows(); r++) {
                float[] x = new float[a.dim()];
                float[] y = new float[b.dim()];
                a.read(r, x);
                b.read(r, y);
                assertArrayEquals(x, y, "row " + r);
                assertEquals(a.word(r), b.word(r));
            }
        }
        // predict and test-classifier give the same output, to the last digit.
        for (Path m : List.of(model, small)) {
            assertEquals(ExitCode.OK, CliRun.of("verify", m.toString()).status());
        }
        CliRun before = CliRun.of("predict", "--model", model.toString(), "--input", test.toString(), "-k", "2", "--prob");
        CliRun after = CliRun.of("predict", "--model", small.toString(), "--input", test.toString(), "-k", "2", "--prob");
        assertEquals(ExitCode.OK, after.status(), after::toString);
        assertEquals(before.out(), after.out());
        JsonNode accuracyBefore = CliRun.of("test-classifier", "--model", model.toString(), "--test", test.toString(), "--json").json();
        JsonNode accuracyAfter = CliRun.of("test-classifier", "--model", small.toString(), "--test", test.toString(), "--json").json();
        assertEquals(accuracyBefore.get("correct"), accuracyAfter.get("correct"));

        // f16: half the table, and a model predict reads.
        Path half = tmp.resolve("half");
        assertEquals("f16", compact(model, half, "--dtype", "f16").get("dtype").asText());
        try (EmbeddingStore s = EmbeddingStore.open(half)) {
            assertEquals(Dtype.F16, s.dtype());
        }
        assertTrue(Files.size(half.resolve("matrix.npy")) <= 4096 + (Files.size(small.resolve("matrix.npy")) - 4096) / 2,
                "the f16 matrix is half the f32 one");
        CliRun predicted = CliRun.of("predict", "--model", half.toString(), "--input", test.toString());
        assertEquals(ExitCode.OK, predicted.status(), predicted::toString);
        assertEquals(Files.readAllLines(test).size(), predicted.out().split("\n").length);
        // A compact model is still a model directory: its word queries leave out the buckets too.
        assertEquals(List.of(), buckets(similar(half, "pos1", 5000)));
    }

    @Test
    void mistakesAreOneLineErrorsAndLeaveNothing() throws IOException {
        Path model = trainSmall();
        Path existing = Files.createDirectory(tmp.resolve("existing"));

        CliRun run = CliRun.of("compact-classifier", "--model", model.toString(), "--out", existing.toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertArrayEquals(new String[] {"embstore compact-classifier: " + existing
                + ": already exists: choose a new model directory or delete it first"}, run.errLines());

        run = CliRun.of("compact-classifier", "--model", model.toString(), "--out", model.toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);

        run = CliRun.of("compact-classifier", "--model", tmp.resolve("absent").toString(), "--out", tmp.resolve("o").toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);

        run = CliRun.of("compact-classifier", "--model", model.toString(), "--out", tmp.resolve("o").toString(), "--dtype", "f64");
        assertEquals(ExitCode.USAGE, run.status(), run::toString);

        run = CliRun.of("compact-classifier", "--model", model.toString(), "--out", tmp.resolve("no/such/dir").toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);

        // The model file damaged: refused, and no half-made copy is left.
        Files.writeString(model.resolve(ClassifierModel.FILE), "x", java.nio.file.StandardOpenOption.APPEND);
        run = CliRun.of("compact-classifier", "--model", model.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertEquals(List.of("existing", "model", "test.txt", "train.txt"), files(tmp), "nothing left behind");
    }

    /**
     * compact-classifier builds its copy in a temporary sibling of OUT ({@code .OUT.tmp-PID-RANDOM}, as every command
     * does), so what a killed run left is removed by the next run, which says so; a live process's temporary stays.
     */
    @Test
    void theTemporariesOfKilledCompactionsAreSweptAndNamed() throws Exception {
        Path model = trainSmall();
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Path out = tmp.resolve("small");
        Path stale = Files.createDirectory(tmp.resolve(".small.tmp-" + dead.pid() + "-00112233445566ff"));
        Files.writeString(stale.resolve("matrix.npy"), "half a copy");
        Path staleEarlierForm = Files.createDirectory(tmp.resolve(".small.tmp-" + dead.pid() + "-0aff"));
        Path live = Files.createDirectory(tmp.resolve(".small.tmp-" + ProcessHandle.current().pid() + "-00ff"));

        CliRun run = CliRun.of("compact-classifier", "--model", model.toString(), "--out", out.toString());
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertFalse(Files.exists(stale), "swept: " + stale);
        assertFalse(Files.exists(staleEarlierForm), "swept: " + staleEarlierForm);
        assertTrue(Files.isDirectory(live), "a running process's temporary stays");
        assertEquals(List.of(
                        "embstore compact-classifier: removed " + stale.toAbsolutePath()
                                + ", left by a run that was killed before it finished",
                        "embstore compact-classifier: removed " + staleEarlierForm.toAbsolutePath()
                                + ", left by a run that was killed before it finished"),
                List.of(run.errLines()).stream().sorted().toList(), run::toString);
        Files.delete(live);
        assertEquals(List.of("model", "small", "test.txt", "train.txt"), files(tmp), "nothing else left");
    }

    /**
     * The movie reviews, as the issue saw them: with bigrams, {@code similar MODEL great} answered bucket rows. A
     * compact f32 copy predicts exactly the same; an f16 one nearly (its accuracy within half a point).
     */
    @Test
    void movieReviewsCompactModelsKeepTheAccuracy() throws IOException {
        List<String> lines = Files.readAllLines(SharedData.file("mr-train.txt"));
        List<String> trainLines = new ArrayList<>();
        List<String> testLines = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            (i % 10 == 0 ? testLines : trainLines).add(lines.get(i));
        }
        Path mrTrain = Files.write(tmp.resolve("mr-train.txt"), trainLines);
        Path mrTest = Files.write(tmp.resolve("mr-test.txt"), testLines);
        Path model = tmp.resolve("mr");
        trainBigrams(mrTrain, model);

        List<String> neighbours = similar(model, "great", 50);
        assertEquals(50, neighbours.size());
        assertEquals(List.of(), buckets(neighbours), "bucket rows among the words most similar to 'great'");

        Path f32 = tmp.resolve("mr-f32");
        Path f16 = tmp.resolve("mr-f16");
        JsonNode small = compact(model, f32);
        JsonNode half = compact(model, f16, "--dtype", "f16");
        System.out.println("movie reviews model " + small.get("model_bytes") + " bytes, compact f32 " + small.get("out_bytes")
                + ", f16 " + half.get("out_bytes"));
        assertTrue(small.get("out_bytes").asLong() * 2 < small.get("model_bytes").asLong(), small.toString());
        assertTrue(half.get("out_bytes").asLong() < small.get("out_bytes").asLong() * 2 / 3, half.toString());

        JsonNode trained = accuracy(model, mrTest);
        JsonNode exact = accuracy(f32, mrTest);
        JsonNode nearly = accuracy(f16, mrTest);
        System.out.println("movie reviews accuracy: trained " + trained.get("accuracy") + ", compact f32 "
                + exact.get("accuracy") + ", f16 " + nearly.get("accuracy"));
        assertEquals(trained.get("correct"), exact.get("correct"));
        assertEquals(trained.get("accuracy").asDouble(), nearly.get("accuracy").asDouble(), 0.005);

        CliRun p32 = CliRun.of("predict", "--model", f32.toString(), "--input", mrTest.toString(), "--prob");
        CliRun p16 = CliRun.of("predict", "--model", f16.toString(), "--input", mrTest.toString(), "--prob");
        assertEquals(CliRun.of("predict", "--model", model.toString(), "--input", mrTest.toString(), "--prob").out(), p32.out());
        String[] a = p32.out().split("\n");
        String[] b = p16.out().split("\n");
        assertEquals(a.length, b.length);
        int same = 0;
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            String[] x = a[i].split(" ");
            String[] y = b[i].split(" ");
            if (x[0].equals(y[0])) {
                same++;
                worst = Math.max(worst, Math.abs(Double.parseDouble(x[1]) - Double.parseDouble(y[1])));
            }
        }
        System.out.println("f16 agrees on " + same + " of " + a.length + " labels; largest probability change " + worst);
        assertTrue(same >= a.length * 0.99, same + " of " + a.length);
        assertTrue(worst < 0.02, "largest probability change " + worst);
    }

    private static JsonNode accuracy(Path model, Path data) {
        CliRun run = CliRun.of("test-classifier", "--model", model.toString(), "--test", data.toString(), "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        return run.json();
    }
}
