package io.embstore.tools;

import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Option;

/**
 * The {@code --quiet} option and the progress bar of long commands: on standard error, only when it is a terminal
 * (so pipes, logs and CI never see escape codes), showing bytes per second, rows per second and the time left.
 */
final class ProgressOption {
    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    /** A bar over {@code totalBytes}, or a no-op when quiet or when standard error is not a terminal. */
    Bar start(String task, long totalBytes) {
        if (quiet || !StderrTerminal.isTerminal()) {
            return new Bar(null);
        }
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalBytes)
                .setUnit(" MB", 1 << 20)
                .setStyle(ProgressBarStyle.ASCII)
                .showSpeed()
                .setUpdateIntervalMillis(250)
                .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                .build();
        return new Bar(bar);
    }

    /** A running bar; thread-safe, as converters report from every parser thread. */
    static final class Bar implements ConvertOptions.Progress, AutoCloseable {
        private final ProgressBar bar;
        private final AtomicLong rows = new AtomicLong();
        private final long started = System.nanoTime();

        Bar(ProgressBar bar) {
            this.bar = bar;
        }

        @Override
        public void advance(long bytes, long rowsRead) {
            if (bar == null) {
                return;
            }
            long total = rows.addAndGet(rowsRead);
            bar.stepBy(bytes);
            double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
            bar.setExtraMessage(String.format(java.util.Locale.ROOT, " %,d rows, %,.0f rows/s", total, total / seconds));
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }
}
