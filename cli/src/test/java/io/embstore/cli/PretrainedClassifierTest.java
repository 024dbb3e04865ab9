package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train-classifier --pretrained STORE [--freeze]} on real data, and its errors, as the command line runs it. */
class PretrainedClassifierTest {
    @TempDir
    Path tmp;

    /** lee_fasttext.vec (fastText vectors of a news corpus, 10-d) converted to a store: real pretrained rows. */
    private Path leeStore() {
        Path store = tmp.resolve("lee");
        CliRun run = CliRun.of("convert", SharedData.file("lee_fasttext.vec").toString(), store.toString(), "--quiet");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        return store;
    }

    /** The movie reviews' words (lower-cased tokens) that some word of the vector file lower-cases to, counted here. */
    private static int expectedCoverage(Path train, Path vec) throws IOException {
        Set<String> vocabulary = new HashSet<>();
        for (String line : Files.readAllLines(train, StandardCharsets.UTF_8)) {
            for (String token : line.trim().split("\\s+")) {
                if (!token.isEmpty() && !token.startsWith("__label__")) {
                    vocabulary.add(token.toLowerCase(Locale.ROOT));
                }
            }
        }
        Set<String> vectors = new HashSet<>();
        List<String> lines = Files.readAllLines(vec, StandardCharsets.UTF_8);
        for (String line : lines.subList(1, lines.size())) {
            vectors.add(line.substring(0, line.indexOf(' ')).toLowerCase(Locale.ROOT));
        }
        vocabulary.retainAll(vectors);
        return vocabulary.size();
    }

    @Test
    void movieReviewsTrainFromPretrainedRowsFrozenOrFineTuned() throws IOException {
        // The first 90% of the lines train, the rest are held out: the coverage counts the training lines' words.
        List<String> lines = Files.readAllLines(SharedData.file("mr-train.txt"), StandardCharsets.UTF_8);
        int cut = lines.size() * 9 / 10;
        Path data = Files.write(tmp.resolve("train.txt"), lines.subList(0, cut), StandardCharsets.UTF_8);
        Path dev = Files.write(tmp.resolve("dev.txt"), lines.subList(cut, lines.size()), StandardCharsets.UTF_8);
        Path store = leeStore();
        int expected = expectedCoverage(data, SharedData.file("lee_fasttext.vec"));
        assertTrue(expected > 500, "expected coverage " + expected);
        for (boolean freeze : List.of(true, false)) {
            Path model = tmp.resolve(freeze ? "frozen" : "tuned");
            List<String> args = new java.util.ArrayList<>(List.of("train-classifier", "--train", data.toString(), "--model",
                    model.toString(), "--pretrained", store.toString(), "--dev", dev.toString(), "--quiet", "--json"));
            if (freeze) {
                args.add("--freeze");
            }
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(ExitCode.OK, run.status(), run::toString);
            JsonNode json = run.json();
            assertEquals(10, json.get("dim").asInt(), "the dim is the store's");
            JsonNode p = json.get("pretrained");
            assertEquals(expected, p.get("words_found").asInt(), run::toString);
            assertEquals(json.get("words").asInt(), p.get("words").asInt());
            assertEquals(freeze, p.get("frozen").asBoolean());
            assertEquals(store.toAbsolutePath().normalize().toString(), p.get("store").asText());
            String coverage = String.format(Locale.ROOT, "pretrained: %,d of %,d words (%.1f%%) from %s, %s", expected,
                    json.get("words").asInt(), 100.0 * expected / json.get("words").asInt(),
                    store.toAbsolutePath().normalize(), freeze ? "frozen" : "fine-tuned");
            assertEquals(List.of(coverage), List.of(run.errLines()), run::toString);
            double accuracy = json.get("epochs").get(json.get("epochs").size() - 1).get("dev_accuracy").asDouble();
            System.out.println("mr-train held-out accuracy from lee_fasttext.vec rows, " + (freeze ? "frozen" : "fine-tuned")
                    + ": " + accuracy);
            assertTrue(accuracy >= 0.6, "held-out accuracy " + accuracy);
            // A frozen row is the store's row exactly; a fine-tuned one moved.
            try (EmbeddingStore source = EmbeddingStore.open(store); EmbeddingStore table = EmbeddingStore.open(model)) {
                float[] a = new float[10];
                float[] b = new float[10];
                source.read(source.rowOf("the"), a);
                table.read(table.rowOf("the"), b);
                assertEquals(freeze, java.util.Arrays.equals(a, b), "row of 'the'");
            }
            // test-classifier shows where the rows came from.
            CliRun tested = CliRun.of("test-classifier", "--model", model.toString(), "--test", dev.toString());
            assertEquals(ExitCode.OK, tested.status(), tested::toString);
            assertTrue(tested.out().contains("pretrained rows: " + coverage.substring("pretrained: ".length())),
                    tested.out());
            tested = CliRun.of("test-classifier", "--model", model.toString(), "--test", dev.toString(), "--json");
            assertEquals(expected, tested.json().get("pretrained").get("words_found").asInt(), tested::toString);
            assertEquals(accuracy, tested.json().get("accuracy").asDouble(), 1e-6);
        }
    }

    @Test
    void badPretrainedStoresAndOptionsAreOneLineErrors() throws IOException {
        Path data = Files.writeString(tmp.resolve("small.txt"), "__label__a the government said\n__label__b to the police\n");
        Path store = leeStore();
        Path model = tmp.resolve("m");
        assertError(ExitCode.USAGE, "--freeze keeps pretrained rows fixed", "--train", data.toString(), "--model",
                model.toString(), "--freeze");
        assertError(ExitCode.USER_ERROR, "--dim 20 does not match the dim 10 of the pretrained store", "--train",
                data.toString(), "--model", model.toString(), "--pretrained", store.toString(), "--dim", "20");
        Path missing = tmp.resolve("no-store");
        assertError(ExitCode.NOT_FOUND, missing + ": no such store directory", "--train", data.toString(), "--model",
                model.toString(), "--pretrained", missing.toString());
        Path ids = tmp.resolve("ids");
        EmbeddingStore.builder(ids).vocabulary(false).rows(4).dim(10).init(Init.normal(1)).create().close();
        assertError(ExitCode.USER_ERROR, ids + ": the store has no words", "--train", data.toString(), "--model",
                model.toString(), "--pretrained", ids.toString());
        Path foreign = tmp.resolve("foreign");
        EmbeddingStore.builder(foreign).words(List.of("hund", "katze")).dim(10).init(Init.normal(1)).create().close();
        assertError(ExitCode.USER_ERROR, "is in the store", "--train", data.toString(), "--model", model.toString(),
                "--pretrained", foreign.toString());
        // An explicit --dim equal to the store's is fine.
        CliRun ok = CliRun.of("train-classifier", "--train", data.toString(), "--model", model.toString(), "--pretrained",
                store.toString(), "--dim", "10", "--epochs", "1", "--quiet");
        assertEquals(ExitCode.OK, ok.status(), ok::toString);
    }

    private void assertError(int status, String expected, String... options) {
        String[] args = new String[options.length + 1];
        args[0] = "train-classifier";
        System.arraycopy(options, 0, args, 1, options.length);
        CliRun run = CliRun.of(args);
        assertEquals(status, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains(expected), run::toString);
        assertFalse(Files.exists(tmp.resolve("m")), "no model left");
    }
}
