package io.embstore.cli;

import io.embstore.formats.ProgressListener;
import java.util.Locale;
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
            return new Bar(null, false);
        }
        // A unit the total reads well in: a small input shown in megabytes is "0/0 MB".
        String unit = totalBytes >= 10L << 20 ? " MB" : totalBytes >= 10L << 10 ? " KB" : " B";
        long unitSize = totalBytes >= 10L << 20 ? 1 << 20 : totalBytes >= 10L << 10 ? 1 << 10 : 1;
        return new Bar(builder(task, totalBytes, true).setUnit(unit, unitSize).build(), false);
    }

    /**
     * A bar over {@code totalRows}, for a command that knows its rows in advance but not its bytes (an export, whose
     * text length and compression are known only at the end): it ends at 100%, and the bytes so far are its message.
     */
    Bar startRows(String task, long totalRows) {
        if (quiet || !StderrTerminal.isTerminal()) {
            return new Bar(null, true);
        }
        // The bytes per second are in the message: rows per second too would not fit an 80-column terminal.
        return new Bar(builder(task, totalRows, false).setUnit(" rows", 1).build(), true);
    }

    /** A bar over {@code total} things of {@code unit} (" rows"), showing their rate: for work counted in items alone. */
    Bar startCount(String task, long total, String unit) {
        if (quiet || !StderrTerminal.isTerminal()) {
            return new Bar(null, true);
        }
        return new Bar(builder(task, total, true).setUnit(unit, 1).build(), true, false);
    }

    private static ProgressBarBuilder builder(String task, long total, boolean showSpeed) {
        ProgressBarBuilder b = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err));
        return showSpeed ? b.showSpeed() : b;
    }

    /** A byte count as people read it: {@code 812 B}, {@code 3.4 KB}, {@code 120.5 MB}, {@code 2.1 GB} (powers of 1000). */
    static String bytes(double n) {
        if (n < 1e3) {
            return String.format(Locale.ROOT, "%.0f B", n);
        }
        if (n < 1e6) {
            return String.format(Locale.ROOT, "%.1f KB", n / 1e3);
        }
        if (n < 1e9) {
            return String.format(Locale.ROOT, "%.1f MB", n / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f GB", n / 1e9);
    }

    /** A rate, {@code bytes} in {@code seconds}, in the unit {@link #bytes} picks: never "0 MB/s" for a small file. */
    static String rate(long bytes, double seconds) {
        return bytes(bytes / Math.max(seconds, 1e-9)) + "/s";
    }

    /** A running bar; thread-safe, as converters report from every parser thread. */
    static final class Bar implements ProgressListener, AutoCloseable {
        private final ProgressBar bar;
        private final boolean byRows;
        /** Whether the message shows the bytes so far (a bar by rows whose bytes mean something). */
        private final boolean showBytes;
        private final AtomicLong rows = new AtomicLong();
        private final AtomicLong bytes = new AtomicLong();
        private final long started = System.nanoTime();

        Bar(ProgressBar bar, boolean byRows) {
            this(bar, byRows, true);
        }

        Bar(ProgressBar bar, boolean byRows, boolean showBytes) {
            this.bar = bar;
            this.byRows = byRows;
            this.showBytes = showBytes;
        }

        @Override
        public void advance(long bytesDone, long rowsDone) {
            if (bar == null) {
                return;
            }
            long totalRows = rows.addAndGet(rowsDone);
            long totalBytes = bytes.addAndGet(bytesDone);
            double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
            if (byRows) {
                bar.stepBy(rowsDone);
                if (showBytes) {
                    bar.setExtraMessage(bytes(totalBytes) + ", " + rate(totalBytes, seconds));
                }
            } else {
                bar.stepBy(bytesDone);
                bar.setExtraMessage(String.format(Locale.ROOT, " %,d rows, %,.0f rows/s", totalRows,
                        totalRows / seconds));
            }
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }
}
