package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.INVALID;

import io.embstore.formats.OutputLocation;
import io.embstore.formats.OutputTarget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The {@code --plot} chart of {@code train-classifier}, drawn with JFreeChart into a PNG: training loss per epoch
 * above, training and held-out accuracy per epoch below. AWT runs headless; drawing text needs a font, which a bare
 * Linux machine may lack (fontconfig and a font package): {@link #check()} finds that out before any training.
 */
public final class TrainingChart {
    public static final int WIDTH = 900;
    public static final int HEIGHT = 700;

    private TrainingChart() {
    }

    /**
     * Draws a small chart in memory, so that a machine without fonts fails before the training rather than after.
     *
     * @throws ClassifierException saying what to install
     */
    public static void check() {
        render(List.of(new ClassifierTraining.EpochStats(1, 1, 0.5, 0.5)), "check");
    }

    /**
     * Writes the chart of {@code history} to {@code png}: a file through a temporary sibling (whole or absent), a
     * device, FIFO or standard output as a stream ({@link OutputTarget}).
     */
    public static void write(OutputTarget png, List<ClassifierTraining.EpochStats> history, String title) {
        byte[] bytes = render(history, title);
        try {
            if (!png.replaced()) {
                try (OutputStream os = png.openStream()) {
                    os.write(bytes);
                }
                return;
            }
            try (OutputTarget.Temp temp = png.createTemp()) {
                Files.write(temp.path(), bytes, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                        LinkOption.NOFOLLOW_LINKS);
                temp.install();
            }
        } catch (IOException e) {
            throw new ClassifierException(INVALID, png.shown() + ": cannot write the chart (" + OutputLocation.reason(e)
                    + ")", e);
        }
    }

    private static byte[] render(List<ClassifierTraining.EpochStats> history, String title) {
        System.setProperty("java.awt.headless", "true");
        try {
            XYSeries loss = new XYSeries("training loss");
            XYSeries trainAccuracy = new XYSeries("training accuracy");
            XYSeries devAccuracy = new XYSeries("held-out accuracy");
            for (ClassifierTraining.EpochStats e : history) {
                loss.add(e.epoch(), e.loss());
                trainAccuracy.add(e.epoch(), e.trainAccuracy());
                if (!Double.isNaN(e.devAccuracy())) {
                    devAccuracy.add(e.epoch(), e.devAccuracy());
                }
            }
            XYSeriesCollection accuracies = new XYSeriesCollection(trainAccuracy);
            if (devAccuracy.getItemCount() > 0) {
                accuracies.addSeries(devAccuracy);
            }
            NumberAxis lossAxis = new NumberAxis("loss");
            lossAxis.setAutoRangeIncludesZero(false);
            NumberAxis accuracyAxis = new NumberAxis("accuracy");
            accuracyAxis.setAutoRangeIncludesZero(false);
            XYPlot lossPlot = new XYPlot(new XYSeriesCollection(loss), null, lossAxis, new XYLineAndShapeRenderer(true, true));
            XYPlot accuracyPlot = new XYPlot(accuracies, null, accuracyAxis, new XYLineAndShapeRenderer(true, true));
            NumberAxis epochAxis = new NumberAxis("epoch");
            epochAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
            epochAxis.setAutoRangeIncludesZero(false);
            CombinedDomainXYPlot plot = new CombinedDomainXYPlot(epochAxis);
            plot.add(lossPlot, 1);
            plot.add(accuracyPlot, 1);
            JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT);
            return out.toByteArray();
        } catch (IOException | RuntimeException | LinkageError | InternalError e) {
            // Without fontconfig or any font, the JDK fails in its font code with errors of several kinds.
            throw new ClassifierException(INVALID, "cannot draw the chart: " + e
                    + " (AWT needs fontconfig and a font: on Debian, apt-get install fontconfig fonts-dejavu-core)", e);
        }
    }
}
