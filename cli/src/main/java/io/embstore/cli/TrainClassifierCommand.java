package io.embstore.cli;

import static io.embstore.formats.StaleTemporaries.Wording.KILLED_RUN;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import io.embstore.store.StoreException;
import io.embstore.classifier.ClassifierException;
import io.embstore.classifier.ClassifierModel;
import io.embstore.classifier.ClassifierTraining;
import io.embstore.classifier.LabeledLines;
import io.embstore.classifier.Tokenizer;
import io.embstore.classifier.TrainingChart;
import io.embstore.formats.InputException;
import io.embstore.formats.OutputLocation;
import io.embstore.formats.OutputTarget;
import io.embstore.formats.StaleTemporaries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore train-classifier}: fastText-style supervised text classification, the table trained in a store. */
@Command(name = "train-classifier",
        sortOptions = false,
        description = {
                "Train a text classifier whose embedding table is a store.",
                "",
                "Reads fastText's supervised format, one example a line: '__label__NAME words...' (a line's first"
                        + " label is its target; blank lines are skipped). Words are lower-cased and split on white"
                        + " space; words seen fewer than --min-count times share the unknown word's row. A document is"
                        + " the mean of its rows (words, and with --ngrams 2 hashed word bigrams), fed to a softmax"
                        + " layer. The table is trained with lazy Adam (the embstore trainer), the output layer with"
                        + " dense Adam, in mini-batches. DIR is a new directory: the store plus "
                        + ClassifierModel.FILE + " (docs/CLASSIFIER.md); it appears only when training succeeded."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  embstore train-classifier --train train.txt --model sentiment",
                "  embstore train-classifier --train train.txt --model sentiment --ngrams 2 --dev-fraction 0.1 --plot curves.png",
                "  embstore train-classifier --train train.txt --model sentiment --pretrained vectors --freeze",
                "  embstore test-classifier --model sentiment --test test.txt"})
final class TrainClassifierCommand extends BaseCommand {
    @Option(names = "--train", paramLabel = "FILE", required = true, description = "Training data, fastText format.")
    Path train;

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "Model directory to create; it must not exist (a symbolic link, even to nothing, is"
                    + " refused), its parent must.")
    Path model;

    @Option(names = "--dev", paramLabel = "FILE",
            description = "Held-out data: its accuracy is reported after every epoch.")
    Path dev;

    @Option(names = "--dev-fraction", paramLabel = "F",
            description = "Hold out this share of the training lines instead (a shuffle seeded by --seed; see"
                    + " docs/CLASSIFIER.md).")
    Double devFraction;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "" + Defaults.DIM,
            description = "Embedding size. Default: ${DEFAULT-VALUE}; with --pretrained, the store's (another value is"
                    + " an error).")
    int dim;

    @Option(names = "--pretrained", paramLabel = "STORE",
            description = "Start the word rows from this store's vectors (read only; any dtype), matched by word after"
                    + " lower-casing: the exact lower-case word first, else the store's lowest row among its spellings."
                    + " Words it lacks start from its n-gram rows when it has them (a fastText .bin conversion), else"
                    + " at random. The coverage goes to standard error.")
    Path pretrained;

    @Option(names = "--freeze",
            description = "With --pretrained: keep the rows that came from the store (found, or built from its n-gram"
                    + " rows) fixed; only the other rows (the unknown word, words neither found nor built, the"
                    + " classifier's n-grams) and the output layer train. Without it they are fine-tuned.")
    boolean freeze;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "" + Defaults.EPOCHS,
            description = "Passes over the data. Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "" + Defaults.LR,
            description = "Adam's learning rate in the first epoch; it falls linearly over the epochs."
                    + " Default: ${DEFAULT-VALUE}.")
    double lr;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "" + Defaults.BATCH,
            description = "Examples per optimizer step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--ngrams", paramLabel = "N", defaultValue = "1",
            description = "Longest word n-gram: 1 words only, 2 adds hashed bigrams (up to 5)."
                    + " Default: ${DEFAULT-VALUE}.")
    int ngrams;

    @Option(names = "--buckets", paramLabel = "N", defaultValue = "2000000",
            description = "Hash buckets of the n-grams; only buckets seen in training get a row."
                    + " Default: ${DEFAULT-VALUE}.")
    int buckets;

    @Option(names = "--min-count", paramLabel = "N", defaultValue = "1",
            description = "Words seen fewer times are the unknown word. Default: ${DEFAULT-VALUE}.")
    int minCount;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "Seed of the initial table, the shuffles and the held-out split. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "Threads of the table's optimizer steps. Default: ${DEFAULT-VALUE} (a step here updates a few"
                    + " hundred rows, too few to share out; see docs/CLASSIFIER.md).")
    int threads;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "Write the loss and accuracy curves as a PNG chart:"
            + " as export writes OUT (a file replaced atomically, a symbolic link's target replaced, '-', a device or"
            + " a FIFO written to as it is).")
    Path plot;

    @Mixin
    ProgressOption progress;

    @Mixin
    JsonOption json;

    /** The defaults, tuned on the movie-review data (benchmarks/results/classifier.md). */
    static final class Defaults {
        static final int DIM = 50;
        static final int EPOCHS = 3;
        static final double LR = 0.01;
        static final int BATCH = 32;

        private Defaults() {
        }
    }

    @Override
    public Integer call() {
        checkOptions();
        // Not followed: a symbolic link is refused like any existing name (even one to nothing, which the final
        // rename could not replace), rather than found out after the training.
        if (Files.isSymbolicLink(model)) {
            throw new UserError(ExitCode.USER_ERROR, model + ": already exists (a symbolic link to " + linkTarget(model)
                    + "): choose a new model directory");
        }
        if (Files.exists(model, LinkOption.NOFOLLOW_LINKS)) {
            throw new UserError(ExitCode.USER_ERROR, model + ": already exists: choose a new model directory or delete it first");
        }
        OutputLocation.checkParent(model);
        OutputTarget chart = null;
        if (plot != null) {
            // Found out now, not after the training: the chart is written last.
            chart = OutputTarget.of(plot, "a .png file");
            TrainingChart.check();
        }
        PrintWriter err = spec.commandLine().getErr();
        StaleTemporaries.sweep(model, err, spec.qualifiedName(), KILLED_RUN);
        if (chart != null) {
            chart.sweepStale(err, spec.qualifiedName());
        }
        List<Tokenizer.Line> trainLines = readExamples(train);
        List<Tokenizer.Line> devLines = dev != null ? readExamples(dev) : List.of();
        if (devFraction != null) {
            List<Tokenizer.Line> shuffled = new ArrayList<>(trainLines);
            Collections.shuffle(shuffled, new Random(seed));
            int held = (int) Math.round(shuffled.size() * devFraction);
            if (held < 1 || held >= shuffled.size()) {
                throw new UserError(ExitCode.USER_ERROR, "--dev-fraction " + devFraction + " of " + shuffled.size()
                        + " lines leaves no held-out or no training line");
            }
            devLines = List.copyOf(shuffled.subList(0, held));
            trainLines = List.copyOf(shuffled.subList(held, shuffled.size()));
        }
        // With a pretrained store the dim is the store's: 0 asks for it, an explicit --dim must equal it.
        boolean dimGiven = spec.commandLine().getParseResult().hasMatchedOption("--dim");
        ClassifierTraining.Settings settings = new ClassifierTraining.Settings(pretrained != null && !dimGiven ? 0 : dim,
                ngrams, buckets, minCount, epochs, lr, batch, seed, threads, pretrained, freeze);
        // Standard output carries the chart when --plot is '-': the report goes with the other messages.
        PrintWriter out = chart != null && chart.isStandardOutput() ? err
                : spec.commandLine().getOut();
        ClassifierTraining.Result result;
        try (TrainingProgress bar = new TrainingProgress(progress, epochs, err)) {
            result = ClassifierTraining.train(trainLines, devLines, settings, model, bar);
        } catch (StoreException e) {
            // The training builds the model in a temporary sibling directory, whose name the store's message gives:
            // the user knows the directory they asked for.
            if (!(e.getCause() instanceof IOException io)) {
                throw e;
            }
            throw new UserError(ExitCode.USER_ERROR, model + ": cannot create the model directory ("
                    + OutputLocation.reason(io) + ")", e);
        } catch (UncheckedIOException e) {
            throw new UserError(ExitCode.USER_ERROR, model + ": cannot create the model directory ("
                    + OutputLocation.reason(e.getCause()) + ")", e);
        }
        if (plot != null) {
            try {
                TrainingChart.write(chart, result.epochs(), "train-classifier " + train.getFileName());
            } catch (ClassifierException e) {
                throw new ClassifierException(e.kind(), e.getMessage() + "; the trained model is complete in " + model, e);
            }
        }
        print(out, result);
        return ExitCode.OK;
    }

    private static String linkTarget(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    private void checkOptions() {
        if (dim < 1 || dim > io.embstore.store.EmbeddingStore.MAX_DIM) {
            throw new UserError(ExitCode.USAGE, "--dim must be in [1, " + io.embstore.store.EmbeddingStore.MAX_DIM + "], found " + dim);
        }
        if (epochs < 1) {
            throw new UserError(ExitCode.USAGE, "--epochs must be 1 or more, found " + epochs);
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new UserError(ExitCode.USAGE, "--lr must be a positive number, found " + lr);
        }
        if (batch < 1) {
            throw new UserError(ExitCode.USAGE, "--batch must be 1 or more, found " + batch);
        }
        if (ngrams < 1 || ngrams > 5) {
            throw new UserError(ExitCode.USAGE, "--ngrams must be in [1, 5], found " + ngrams);
        }
        if (buckets < 1) {
            throw new UserError(ExitCode.USAGE, "--buckets must be 1 or more, found " + buckets);
        }
        if (minCount < 1) {
            throw new UserError(ExitCode.USAGE, "--min-count must be 1 or more, found " + minCount);
        }
        if (threads < 1) {
            throw new UserError(ExitCode.USAGE, "--threads must be 1 or more, found " + threads);
        }
        if (devFraction != null && !(devFraction > 0 && devFraction < 1)) {
            throw new UserError(ExitCode.USAGE, "--dev-fraction must be between 0 and 1, found " + devFraction);
        }
        if (freeze && pretrained == null) {
            throw new UserError(ExitCode.USAGE, "--freeze keeps pretrained rows fixed: give --pretrained STORE too");
        }
        if (devFraction != null && dev != null) {
            throw new UserError(ExitCode.USAGE, "give --dev or --dev-fraction, not both");
        }
    }

    /**
     * The labelled lines of a fastText-format file. A line with words but no label is an error naming it, as is a
     * file without a single example.
     */
    static List<Tokenizer.Line> readExamples(Path file) {
        List<Tokenizer.Line> lines = new ArrayList<>();
        LabeledLines.read(file, (number, text) -> {
            Tokenizer.Line line = Tokenizer.split(text);
            if (line.labels().isEmpty() && line.words().isEmpty()) {
                return;
            }
            if (line.labels().isEmpty()) {
                throw InputException.atLine(file, number, "no label: expected '" + Tokenizer.LABEL_PREFIX
                        + "NAME' before the text, as in '" + Tokenizer.LABEL_PREFIX + "pos a fine film'");
            }
            lines.add(line);
        });
        if (lines.isEmpty()) {
            throw new InputException(file, null, "no examples: expected lines such as '" + Tokenizer.LABEL_PREFIX
                    + "pos a fine film'");
        }
        return lines;
    }

    private void print(PrintWriter out, ClassifierTraining.Result r) {
        ClassifierModel m = r.model();
        double seconds = r.nanos() / 1e9;
        ClassifierTraining.EpochStats last = r.epochs().get(r.epochs().size() - 1);
        if (json.json) {
            StringBuilder s = new StringBuilder();
            s.append("{\"model\":").append(JsonText.string(model.toAbsolutePath().normalize().toString()))
                    .append(",\"examples\":").append(r.trainExamples())
                    .append(",\"dev_examples\":").append(r.devExamples())
                    .append(",\"labels\":").append(m.labelCount())
                    .append(",\"words\":").append(m.wordRows())
                    .append(",\"bucket_rows\":").append(m.bucketRows())
                    .append(",\"dim\":").append(m.dim());
            m.pretrained().ifPresent(p -> s.append(",\"pretrained\":").append(pretrainedJson(p, m.wordRows())));
            s.append(",\"seconds\":").append(String.format(Locale.ROOT, "%.3f", seconds))
                    .append(",\"epochs\":[");
            for (int i = 0; i < r.epochs().size(); i++) {
                ClassifierTraining.EpochStats e = r.epochs().get(i);
                s.append(i == 0 ? "" : ",").append("{\"epoch\":").append(e.epoch())
                        .append(",\"loss\":").append(number(e.loss()))
                        .append(",\"train_accuracy\":").append(number(e.trainAccuracy()))
                        .append(",\"dev_accuracy\":").append(number(e.devAccuracy())).append('}');
            }
            s.append("]}");
            out.println(s);
        } else {
            for (ClassifierTraining.EpochStats e : r.epochs()) {
                out.printf(Locale.ROOT, "epoch %d/%d: loss %.4f, training accuracy %.4f%s%n", e.epoch(), r.epochs().size(),
                        e.loss(), e.trainAccuracy(), Double.isNaN(e.devAccuracy()) ? ""
                                : String.format(Locale.ROOT, ", held-out accuracy %.4f (%d examples)", e.devAccuracy(), r.devExamples()));
            }
            out.printf(Locale.ROOT, "trained %s: %,d examples, %d labels, %,d words, %,d n-gram bucket rows, dim %d, %.2f s%n",
                    model, r.trainExamples(), m.labelCount(), m.wordRows(), m.bucketRows(), m.dim(), seconds);
            if (!Double.isNaN(last.devAccuracy())) {
                out.printf(Locale.ROOT, "held-out accuracy %.4f%n", last.devAccuracy());
            }
        }
        out.flush();
    }

    /** A model's pretrained origin as a JSON object (train-classifier and test-classifier print the same). */
    static String pretrainedJson(ClassifierModel.Pretrained p, int words) {
        return "{\"store\":" + JsonText.string(p.store()) + ",\"generation\":" + p.generation()
                + ",\"matrix_crc32c\":" + (p.matrixChecksum().isPresent()
                        ? "\"" + String.format(Locale.ROOT, "%08x", p.matrixChecksum().getAsLong()) + "\"" : "null")
                + ",\"words_found\":" + p.words() + ",\"words_from_subwords\":" + p.subwordWords() + ",\"words\":" + words
                + ",\"coverage\":" + String.format(Locale.ROOT, "%.6f", coverage(p, words)) + ",\"frozen\":" + p.frozen()
                + "}";
    }

    /** "8,123 of 9,876 words (82.2%) from STORE, frozen": the coverage line. */
    static String pretrainedText(ClassifierModel.Pretrained p, int words) {
        return String.format(Locale.ROOT, "%,d of %,d words (%.1f%%) from %s%s, %s", p.words(), words,
                100 * coverage(p, words), p.store(),
                p.subwordWords() > 0 ? String.format(Locale.ROOT, " (and %,d more from its n-grams)", p.subwordWords()) : "",
                p.frozen() ? "frozen" : "fine-tuned");
    }

    private static double coverage(ClassifierModel.Pretrained p, int words) {
        return words == 0 ? 0 : (double) p.words() / words;
    }

    private static String number(double x) {
        return Double.isNaN(x) ? "null" : String.format(Locale.ROOT, "%.6f", x);
    }
}
