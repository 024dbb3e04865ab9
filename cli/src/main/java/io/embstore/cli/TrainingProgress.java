package io.embstore.cli;

import io.embstore.classifier.ClassifierModel;
import io.embstore.classifier.ClassifierTraining;
import java.io.PrintWriter;
import java.util.Locale;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The progress bar of {@code train-classifier}: examples done over all epochs, with the epoch and its running loss.
 * Shown on standard error under the same rule as {@link ProgressOption}'s bars: only when it is a terminal and
 * {@code --quiet} was not given.
 */
final class TrainingProgress implements ClassifierTraining.Listener, AutoCloseable {
    private final boolean enabled;
    private final int epochs;
    private final PrintWriter messages;
    private ProgressBar bar;

    /** {@code messages}: where the pretrained store's coverage goes (standard error), bar or no bar. */
    TrainingProgress(ProgressOption option, int epochs, PrintWriter messages) {
        this.enabled = !option.quiet && StderrTerminal.isTerminal();
        this.epochs = epochs;
        this.messages = messages;
    }

    @Override
    public void pretrained(ClassifierModel.Pretrained origin, int words) {
        messages.println("pretrained: " + TrainClassifierCommand.pretrainedText(origin, words));
        messages.flush();
    }

    @Override
    public void started(long totalExamples) {
        if (!enabled) {
            return;
        }
        bar = new ProgressBarBuilder()
                .setTaskName("train")
                .setInitialMax(totalExamples)
                .setUnit(" examples", 1)
                .setStyle(ProgressBarStyle.ASCII)
                .showSpeed()
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build();
    }

    @Override
    public void advanced(long examplesDone, double epochLoss, int epoch) {
        if (bar != null) {
            bar.stepTo(examplesDone);
            bar.setExtraMessage(String.format(Locale.ROOT, " epoch %d/%d loss %.4f", epoch, epochs, epochLoss));
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
