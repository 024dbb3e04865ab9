package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import io.embstore.store.EmbeddingStore;
import io.embstore.classifier.ClassifierGradientTest;
import io.embstore.classifier.ClassifierModel;
import io.embstore.classifier.TrainingChart;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train-classifier, test-classifier and predict, run as the command line runs them. */
class ClassifierCommandsTest {
    @TempDir
    Path tmp;

    private Path train;
    private Path test;

    /**
     * A separable synthetic task: each line has three words of its class ("pos3", "neg17") among three shared noise
     * words, so a bag of words classifies it perfectly while no single word is in every line.
     */
    @BeforeEach
    void syntheticData() throws IOException {
        long seed = ClassifierGradientTest.seed();
        System.out.println("ClassifierCommandsTest seed " + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        Random random = new Random(seed);
        train = tmp.resolve("train.txt");
        test = tmp.resolve("test.txt");
        Files.write(train, synthetic(random, 600));
        Files.write(test, synthetic(random, 200));
    }

    private static List<String> synthetic(Random random, int lines) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            boolean pos = random.nextBoolean();
            List<String> words = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                words.add((pos ? "Pos" : "neg") + random.nextInt(30));
                words.add("noise" + random.nextInt(50));
            }
            out.add("__label__" + (pos ? "pos" : "neg") + " " + String.join(" ", words));
        }
        return out;
    }

    @Test
    void learnsASeparableTaskAndTheModelReadsBackTheSame() throws IOException {
        Path model = tmp.resolve("model");
        CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(),
                "--dev", test.toString(), "--dim", "16", "--quiet", "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        JsonNode trained = run.json();
        assertEquals(600, trained.get("examples").asInt());
        assertEquals(200, trained.get("dev_examples").asInt());
        assertEquals(2, trained.get("labels").asInt());
        // 30 + 30 class words (lower-cased) and 50 noise words; missing one of them would take odds below 1e-12.
        assertEquals(110, trained.get("words").asInt());
        JsonNode epochs = trained.get("epochs");
        assertEquals(TrainClassifierCommand.Defaults.EPOCHS, epochs.size());
        assertTrue(epochs.get(epochs.size() - 1).get("loss").asDouble() < epochs.get(0).get("loss").asDouble(), run::toString);
        double heldOut = epochs.get(epochs.size() - 1).get("dev_accuracy").asDouble();
        assertTrue(heldOut >= 0.95, "held-out accuracy " + heldOut);

        // The model directory is a store whose vocabulary is the classifier's, plus the model file.
        try (EmbeddingStore table = EmbeddingStore.open(model)) {
            assertEquals(16, table.dim());
            assertEquals(ClassifierModel.UNKNOWN_WORD, table.word(0));
            assertTrue(table.rowOf("pos7") > 0);
            assertEquals(-1, table.rowOf("Pos7"), "words are lower-cased");
        }
        assertTrue(Files.isRegularFile(model.resolve(ClassifierModel.FILE)));

        // test-classifier, reading the model back, finds what training found on the same lines.
        CliRun tested = CliRun.of("test-classifier", "--model", model.toString(), "--test", test.toString(), "--json");
        assertEquals(ExitCode.OK, tested.status(), tested::toString);
        assertEquals(200, tested.json().get("examples").asInt());
        assertEquals(heldOut, tested.json().get("accuracy").asDouble(), 1e-6);

        // predict labels the same lines: one label per line, right exactly as often as test-classifier says.
        CliRun predicted = CliRun.of("predict", "--model", model.toString(), "--input", test.toString());
        assertEquals(ExitCode.OK, predicted.status(), predicted::toString);
        String[] labels = predicted.out().split("\n");
        List<String> lines = Files.readAllLines(test);
        assertEquals(lines.size(), labels.length);
        int correct = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(labels[i] + " ")) {
                correct++;
            }
        }
        assertEquals(tested.json().get("correct").asInt(), correct);

        // -k 2 --prob: both labels, most probable first, probabilities summing to 1.
        Path two = tmp.resolve("two.txt");
        Files.writeString(two, "pos1 pos2 noise3\n\nneg4 neg5\n");
        CliRun probs = CliRun.of("predict", "--model", model.toString(), "--input", two.toString(), "-k", "2", "--prob");
        assertEquals(ExitCode.OK, probs.status(), probs::toString);
        String[] out = probs.out().split("\n");
        assertEquals(3, out.length, "one line out per line in, the empty one included");
        for (String line : out) {
            String[] f = line.split(" ");
            assertEquals(4, f.length, line);
            double p1 = Double.parseDouble(f[1]);
            double p2 = Double.parseDouble(f[3]);
            assertTrue(p1 >= p2, line);
            assertEquals(1.0, p1 + p2, 1e-4, line);
        }
        assertTrue(out[0].startsWith("__label__pos "), out[0]);
        assertTrue(out[2].startsWith("__label__neg "), out[2]);
    }

    @Test
    void theSameSeedGivesTheSameModel() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        for (Path m : List.of(a, b)) {
            CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model", m.toString(),
                    "--ngrams", "2", "--buckets", "5000", "--threads", "1", "--seed", "7", "--dim", "12", "--quiet");
            assertEquals(ExitCode.OK, run.status(), run::toString);
        }
        assertEquals(Files.readString(a.resolve(ClassifierModel.FILE)), Files.readString(b.resolve(ClassifierModel.FILE)));
        try (EmbeddingStore x = EmbeddingStore.open(a); EmbeddingStore y = EmbeddingStore.open(b)) {
            assertEquals(x.rows(), y.rows());
            float[] u = new float[x.dim()];
            float[] v = new float[y.dim()];
            for (long row = 0; row < x.rows(); row++) {
                assertEquals(x.word(row), y.word(row));
                x.read(row, u);
                y.read(row, v);
                assertArrayEquals(u, v, "row " + row);
            }
        }
        // Another seed: another model.
        Path c = tmp.resolve("c");
        assertEquals(ExitCode.OK, CliRun.of("train-classifier", "--train", train.toString(), "--model", c.toString(),
                "--ngrams", "2", "--buckets", "5000", "--threads", "1", "--seed", "8", "--dim", "12", "--quiet").status());
        assertFalse(Files.readString(a.resolve(ClassifierModel.FILE)).equals(Files.readString(c.resolve(ClassifierModel.FILE))));
    }

    @Test
    void plotWritesAPngChart() throws IOException {
        Path png = tmp.resolve("curves.png");
        CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model", tmp.resolve("m").toString(),
                "--dev-fraction", "0.2", "--epochs", "3", "--dim", "8", "--plot", png.toString(), "--quiet");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(bytes, 8));
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(TrainingChart.WIDTH, image.getWidth());
        assertEquals(TrainingChart.HEIGHT, image.getHeight());
        // Something was drawn: more than a handful of distinct colours.
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 7) {
            for (int x = 0; x < image.getWidth(); x += 7) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 5, "colours: " + colours.size());
        try (Stream<Path> files = Files.list(tmp)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }

    @Test
    void movieReviewsReachASaneAccuracy() {
        Path data = SharedData.file("mr-train.txt");
        CliRun run = CliRun.of("train-classifier", "--train", data.toString(), "--model", tmp.resolve("mr").toString(),
                "--dev-fraction", "0.1", "--quiet", "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        JsonNode last = run.json().get("epochs").get(TrainClassifierCommand.Defaults.EPOCHS - 1);
        assertEquals(960, run.json().get("dev_examples").asInt());
        double accuracy = last.get("dev_accuracy").asDouble();
        System.out.println("mr-train held-out accuracy " + accuracy);
        assertTrue(accuracy >= 0.70, "held-out accuracy " + accuracy);
    }

    // ------------------------------------------------------------------------------------------------ bad input

    @Test
    void aLineWithoutALabelIsAnErrorNamingItAndLeavesNothing() throws IOException {
        Path bad = tmp.resolve("bad.txt");
        Files.writeString(bad, "__label__a one two\n\n__label__b three\njust words here\n");
        Path model = tmp.resolve("model");
        CliRun run = CliRun.of("train-classifier", "--train", bad.toString(), "--model", model.toString(), "--quiet");
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains(bad + ": line 4: no label"), run.err());
        assertNothingLeft(model);
    }

    @Test
    void emptyOrLabelOnlyInputIsAnError() throws IOException {
        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "\n  \n");
        CliRun run = CliRun.of("train-classifier", "--train", empty.toString(), "--model", tmp.resolve("m").toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains(empty + ": no examples"), run.err());

        Path one = tmp.resolve("one.txt");
        Files.writeString(one, "__label__x a b\n__label__x c\n");
        run = CliRun.of("train-classifier", "--train", one.toString(), "--model", tmp.resolve("m").toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertTrue(run.err().contains("only the label __label__x"), run.err());
        assertNothingLeft(tmp.resolve("m"));
    }

    @Test
    void invalidUtf8IsAnErrorNamingItsLine() throws IOException {
        Path bad = tmp.resolve("latin1.txt");
        Files.write(bad, "__label__a caf\u00e9\n__label__b ok\n".getBytes(StandardCharsets.ISO_8859_1));
        CliRun run = CliRun.of("train-classifier", "--train", bad.toString(), "--model", tmp.resolve("m").toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains(bad + ": line 1: not UTF-8"), run.err());
    }

    @Test
    void missingFilesAndDirectoriesAreNotFound() {
        CliRun run = CliRun.of("train-classifier", "--train", tmp.resolve("nope.txt").toString(), "--model",
                tmp.resolve("m").toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains("nope.txt: no such file"), run.err());

        run = CliRun.of("test-classifier", "--model", tmp.resolve("nomodel").toString(), "--test", test.toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains("nomodel: no such model directory"), run.err());

        run = CliRun.of("predict", "--model", tmp.resolve("nomodel").toString(), "--input", test.toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
    }

    @Test
    void anExistingModelDirectoryIsNotOverwritten() throws IOException {
        Path model = Files.createDirectory(tmp.resolve("taken"));
        CliRun run = CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertTrue(run.err().contains("already exists"), run.err());
        try (Stream<Path> files = Files.list(model)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void aDamagedModelFileIsRefusedInOneLine() throws IOException {
        Path model = tmp.resolve("model");
        assertEquals(ExitCode.OK, CliRun.of("train-classifier", "--train", train.toString(), "--model", model.toString(),
                "--dim", "8", "--epochs", "1", "--quiet").status());
        Path file = model.resolve(ClassifierModel.FILE);
        String good = Files.readString(file);

        // One weight changed: the checksum says so.
        int at = good.indexOf("label __label__") + "label __label__pos ".length() + 2;
        char c = good.charAt(at);
        Files.writeString(file, good.substring(0, at) + (c == '1' ? '2' : '1') + good.substring(at + 1));
        assertDamaged(model, "checksum mismatch");

        // Cut short.
        Files.writeString(file, good.substring(0, good.length() / 2));
        assertDamaged(model, "damaged model file");

        // Another version.
        Files.writeString(file, good.replaceFirst("embstore-classifier 1", "embstore-classifier 9"));
        assertDamaged(model, "unsupported version");

        // Missing altogether.
        Files.delete(file);
        CliRun run = CliRun.of("predict", "--model", model.toString(), "--input", test.toString());
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains("no model file"), run.err());
    }

    private void assertDamaged(Path model, String expected) {
        CliRun run = CliRun.of("test-classifier", "--model", model.toString(), "--test", test.toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains(expected), run.err());
        assertEquals("", run.out());
    }

    @Test
    void badOptionValuesAreCommandLineErrors() {
        for (String[] bad : List.of(new String[] {"--dim", "0"}, new String[] {"--epochs", "0"}, new String[] {"--lr", "-1"},
                new String[] {"--ngrams", "6"}, new String[] {"--dev-fraction", "1.5"}, new String[] {"--batch", "0"})) {
            List<String> args = new ArrayList<>(List.of("train-classifier", "--train", train.toString(), "--model",
                    tmp.resolve("m").toString()));
            args.addAll(List.of(bad));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(ExitCode.USAGE, run.status(), run::toString);
            assertEquals(1, run.errLines().length, run::toString);
            assertNothingLeft(tmp.resolve("m"));
        }
    }

    /** Neither the model directory nor a temporary sibling of it is left after a failed run. */
    private void assertNothingLeft(Path model) {
        assertFalse(Files.exists(model), model + " exists");
        try (Stream<Path> files = Files.list(model.getParent())) {
            List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> n.contains(".training-")).toList();
            assertEquals(List.of(), left);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
