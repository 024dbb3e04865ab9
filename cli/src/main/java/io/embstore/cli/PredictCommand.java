package io.embstore.cli;

import io.embstore.classifier.LabeledLines;
import io.embstore.classifier.TextClassifier;
import io.embstore.classifier.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore predict}: labels for lines of text, as fastText's predict and predict-prob. */
@Command(name = "predict",
        sortOptions = false,
        description = {
                "Label lines of text with a trained classifier.",
                "",
                "Reads text one document a line (from standard input unless --input is given; labels in it are"
                        + " ignored) and prints one line per input line: the K most probable labels, most probable"
                        + " first, each followed by its probability with --prob (fastText's predict-prob format)."
                        + " A line without words gets the labels the output layer's biases alone give."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  echo 'a gorgeous , witty film' | embstore predict --model sentiment",
                "  embstore predict --model sentiment --input reviews.txt -k 2 --prob"})
final class PredictCommand extends BaseCommand {
    @Mixin
    ModelOption model;

    @Option(names = "--input", paramLabel = "FILE", description = "Read this file instead of standard input.")
    Path input;

    @Option(names = "-k", paramLabel = "K", defaultValue = "1", description = "Labels per line. Default: ${DEFAULT-VALUE}.")
    int k;

    @Option(names = "--prob", description = "Print each label's probability after it.")
    boolean prob;

    @Override
    public Integer call() {
        if (k < 1) {
            throw new UserError(ExitCode.USAGE, "-k must be 1 or more, found " + k);
        }
        PrintWriter out = spec.commandLine().getOut();
        TestClassifierCommand.checkModelDirectory(model.dir);
        try (TextClassifier classifier = TextClassifier.open(model.dir)) {
            int labels = classifier.model().labelCount();
            int shown = Math.min(k, labels);
            float[] probs = new float[labels];
            boolean[] used = new boolean[labels];
            StringBuilder s = new StringBuilder();
            LabeledLines.Handler handler = (number, text) -> {
                classifier.probabilities(classifier.features(Tokenizer.split(text).words()), probs);
                java.util.Arrays.fill(used, false);
                s.setLength(0);
                for (int i = 0; i < shown; i++) {
                    int best = -1;
                    for (int l = 0; l < labels; l++) {
                        if (!used[l] && (best < 0 || probs[l] > probs[best])) {
                            best = l;
                        }
                    }
                    used[best] = true;
                    s.append(i == 0 ? "" : " ").append(classifier.model().labels().get(best));
                    if (prob) {
                        s.append(' ').append(String.format(Locale.ROOT, "%.5f", probs[best]));
                    }
                }
                out.println(s);
            };
            if (input != null) {
                LabeledLines.read(input, handler);
            } else {
                try {
                    InputStream in = System.in;
                    LabeledLines.read(in, "standard input", handler);
                } catch (IOException e) {
                    throw new UncheckedIOException("standard input: cannot read (" + e.getMessage() + ")", e);
                }
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
