package io.embstore.cli;

import static io.embstore.formats.StaleTemporaries.Wording.KILLED_RUN;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.Dtype;
import io.embstore.store.StoreException;
import io.embstore.classifier.ClassifierModel;
import io.embstore.classifier.TextClassifier;
import io.embstore.formats.OutputLocation;
import io.embstore.formats.StaleTemporaries;
import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code embstore compact-classifier}: a copy of a classifier for prediction only, without the trainer's optimizer
 * state and optionally in float16, as fastText's {@code quantize} makes a small model from a trained one.
 */
@Command(name = "compact-classifier",
        sortOptions = false,
        description = {
                "Copy a classifier into a smaller model for prediction.",
                "",
                "A model made by train-classifier keeps the trainer's Adam state beside its table: two more floats"
                        + " per value, twice the table again, which predict and test-classifier never read. This writes"
                        + " a new model directory with the table, its vocabulary and " + ClassifierModel.FILE
                        + " only. With --dtype f16 the table is stored as float16, half the bytes again; predictions"
                        + " may then differ slightly (docs/CLASSIFIER.md). The trained model is left as it is; OUT"
                        + " appears only when it is complete."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  embstore compact-classifier --model sentiment --out sentiment-small",
                "  embstore compact-classifier --model sentiment --out sentiment-f16 --dtype f16"})
final class CompactClassifierCommand extends BaseCommand {
    @Option(names = "--model", paramLabel = "DIR", required = true, description = "A model made by train-classifier.")
    Path model;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "The compact model directory to create; it must not exist, its parent must.")
    Path out;

    @Option(names = "--dtype", paramLabel = "f32|f16", converter = CreateCommand.DtypeConverter.class,
            description = "Element type of the copied table. Default: the model's (f32).")
    Dtype dtype;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        long started = System.nanoTime();
        TestClassifierCommand.checkModelDirectory(model);
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
            throw new UserError(ExitCode.USER_ERROR, out + ": already exists: choose a new model directory or delete it first");
        }
        OutputLocation.checkParent(out);
        StaleTemporaries.sweep(out, spec.commandLine().getErr(), spec.qualifiedName(), KILLED_RUN);
        // A temporary sibling, so that what a killed run leaves is swept like every other command's.
        Path temp = TempSibling.name(out);
        boolean done = false;
        long rows;
        Dtype written;
        int dim;
        try (TextClassifier source = TextClassifier.open(model)) {
            EmbeddingStore table = source.table();
            written = dtype != null ? dtype : table.dtype();
            rows = table.rows();
            dim = table.dim();
            EmbeddingStore.builder(temp).init(Init.copyOf(table)).dtype(written).create().close();
            // The model file is copied as it is: the same labels and output layer, byte for byte.
            DurableFiles.replace(temp.resolve(ClassifierModel.FILE),
                    Files.readAllBytes(model.resolve(ClassifierModel.FILE)));
            TextClassifier.open(temp).close(); // the copy is a consistent model before it gets its name
            DurableFiles.publishDirectory(temp, out);
            done = true;
        } catch (StoreException e) {
            if (!(e.getCause() instanceof IOException io)) {
                throw e;
            }
            throw cannotWrite(io);
        } catch (UncheckedIOException e) {
            throw cannotWrite(e.getCause());
        } catch (IOException e) {
            throw cannotWrite(e);
        } finally {
            if (!done) {
                try {
                    TempSibling.deleteTree(temp);
                } catch (IOException ignored) {
                    // Best effort: the failure that brought us here is the one to report.
                }
            }
        }
        long before = bytes(model);
        long after = bytes(out);
        double seconds = (System.nanoTime() - started) / 1e9;
        PrintWriter o = spec.commandLine().getOut();
        if (json.json) {
            o.println(String.format(Locale.ROOT, "{\"model\":%s,\"out\":%s,\"rows\":%d,\"dim\":%d,\"dtype\":%s,"
                            + "\"model_bytes\":%d,\"out_bytes\":%d,\"seconds\":%.3f}",
                    JsonText.string(model.toAbsolutePath().normalize().toString()),
                    JsonText.string(out.toAbsolutePath().normalize().toString()), rows, dim,
                    JsonText.string(written.label()), before, after, seconds));
        } else {
            o.printf(Locale.ROOT, "compacted %s (%.1f MB) into %s (%.1f MB): %,d rows x %d dims %s, no optimizer state%n",
                    model, before / 1e6, out, after / 1e6, rows, dim, written.label());
        }
        o.flush();
        return ExitCode.OK;
    }

    private UserError cannotWrite(IOException e) {
        return new UserError(ExitCode.USER_ERROR, out + ": cannot write the compact model (" + OutputLocation.reason(e) + ")", e);
    }

    /** Bytes of the regular files in a directory tree. */
    static long bytes(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            long sum = 0;
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                sum += Files.size(p);
            }
            return sum;
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
    }
}
