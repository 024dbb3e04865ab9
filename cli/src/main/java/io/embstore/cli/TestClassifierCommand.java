package io.embstore.cli;

import io.embstore.classifier.ClassifierModel;
import io.embstore.classifier.TextClassifier;
import io.embstore.classifier.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore test-classifier}: the accuracy of a trained classifier on labelled data. */
@Command(name = "test-classifier",
        sortOptions = false,
        description = {
                "Print a classifier's accuracy on labelled data.",
                "",
                "Reads fastText's supervised format, as train-classifier does. An example counts as correct when the"
                        + " most probable label is one of its labels (fastText's precision at 1)."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  embstore test-classifier --model sentiment --test test.txt",
                "  embstore test-classifier --model sentiment --test test.txt --json"})
final class TestClassifierCommand extends BaseCommand {
    @Mixin
    ModelOption model;

    @Option(names = "--test", paramLabel = "FILE", required = true, description = "Labelled data, fastText format.")
    Path test;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        long started = System.nanoTime();
        int correct = 0;
        int examples;
        int labels;
        Optional<ClassifierModel.Pretrained> pretrained;
        int words;
        checkModelDirectory(model.dir);
        try (TextClassifier classifier = TextClassifier.open(model.dir)) {
            List<Tokenizer.Line> lines = TrainClassifierCommand.readExamples(test);
            examples = lines.size();
            labels = classifier.model().labelCount();
            pretrained = classifier.model().pretrained();
            words = classifier.model().wordRows();
            float[] probs = new float[labels];
            for (Tokenizer.Line line : lines) {
                classifier.probabilities(classifier.features(line.words()), probs);
                String predicted = classifier.model().labels().get(TextClassifier.argmax(probs, labels));
                if (line.labels().contains(predicted)) {
                    correct++;
                }
            }
        }
        double accuracy = (double) correct / examples;
        double seconds = (System.nanoTime() - started) / 1e9;
        PrintWriter out = spec.commandLine().getOut();
        if (json.json) {
            out.println(String.format(Locale.ROOT, "{\"accuracy\":%.6f,\"examples\":%d,\"correct\":%d,\"labels\":%d,"
                    + "\"model\":%s,\"test\":%s,%s\"seconds\":%.3f}", accuracy, examples, correct, labels,
                    JsonText.string(model.dir.toAbsolutePath().normalize().toString()), JsonText.string(test.toString()),
                    pretrained.map(p -> "\"pretrained\":" + TrainClassifierCommand.pretrainedJson(p, words) + ",").orElse(""),
                    seconds));
        } else {
            out.printf(Locale.ROOT, "accuracy %.4f (%,d of %,d examples)%n", accuracy, correct, examples);
            pretrained.ifPresent(p -> out.println("pretrained rows: " + TrainClassifierCommand.pretrainedText(p, words)
                    + String.format(Locale.ROOT, " (store generation %d, matrix crc32c %s)", p.generation(),
                    p.matrixChecksum().isPresent() ? String.format(Locale.ROOT, "%08x", p.matrixChecksum().getAsLong())
                            : "not recorded")));
        }
        out.flush();
        return ExitCode.OK;
    }

    /** A file given as the model is there but is not a model: that is bad input (exit 1), not "no such model". */
    static void checkModelDirectory(Path model) {
        if (Files.exists(model) && !Files.isDirectory(model)) {
            throw new UserError(ExitCode.USER_ERROR, model + ": not a directory: expected a model directory made by"
                    + " 'embstore train-classifier'");
        }
    }
}
