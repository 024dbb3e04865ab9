package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import io.embstore.trainer.SparseTrainer;
import io.embstore.formats.OutputLocation;
import io.embstore.formats.OutputTarget;
import io.embstore.formats.ExportOptions;
import io.embstore.formats.ExportSummary;
import io.embstore.formats.RowSelection;
import io.embstore.formats.VectorFiles;
import io.embstore.formats.VectorFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.roaringbitmap.RoaringBitmap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code embstore export}: a store, or the rows of a word list, as a word2vec or GloVe file. */
@Command(name = "export",
        sortOptions = false,
        description = {
                "Write a store as a vector file.",
                "",
                "Writes word2vec text (with a 'rows dim' header; fastText reads it as .vec), word2vec binary or GloVe"
                        + " text, for the whole store or the words of a list. Text values are the shortest decimals"
                        + " that read back as the same float32, laid out as NumPy writes a float32 (0.0005592,"
                        + " 1.5e-05), so converting the output again gives the very same store. OUT ending in .gz is"
                        + " gzip-compressed. A table without a vocabulary (create --rows) is written with each row id"
                        + " as its word. A q8 or q4 table is written as its float32 reads (dequantized). Of a store"
                        + " converted from a fastText .bin model only the words are written, as fastText's .vec"
                        + " holds them (the n-gram bucket rows are no words).",
                "",
                "A word the format would not read back unchanged is refused, naming its row, before anything is"
                        + " written: in word2vec binary a word ends at its first space; in the text formats a word may"
                        + " hold spaces and tabs, but not at its start or end, not a line break or other control"
                        + " character, and not only numbers after its first field.",
                "",
                "OUT is written as cp and gzip -c would: a regular file (or a new name) is replaced atomically, written"
                        + " beside it under a hidden temporary name and renamed over it, so it appears whole or not at"
                        + " all; a symbolic link is followed and its target replaced that way (the link stays); '-' or"
                        + " /dev/stdout, a device such as /dev/null, or a FIFO is written to as it is, streamed in"
                        + " row order (no temporary file; a write error such as a full device fails the command)."
                        + " When OUT is standard output, the report and --json go to standard error. Temporary files"
                        + " left by a killed export are removed by the next export into the same directory, which says so."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  embstore export glove300 glove300.txt --format glove",
                "  embstore export news news.bin --format word2vec-binary",
                "  embstore export news subset.vec.gz --words my-words.txt",
                "  embstore export news - | gzip -9 > news.vec.gz",
                "  embstore export items delta.vec --changed-since 41   (rows a trainer changed after generation 41)"})
final class ExportCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Parameters(index = "1", paramLabel = "OUT", description = "The file to write ('-' for standard output); a regular"
            + " file is replaced, a device or FIFO written to (see above). Its directory must exist and must not be a"
            + " store's.")
    Path out;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "word2vec", converter = ConvertCommand.FormatConverter.class,
            description = "word2vec, word2vec-binary or glove. Default: ${DEFAULT-VALUE}.")
    VectorFormat format;

    @Option(names = "--words", paramLabel = "FILE",
            description = "Export only these words, in this order: UTF-8 text, one word per line.")
    Path wordsFile;

    @Option(names = "--changed-since", paramLabel = "GENERATION",
            description = "Export only the rows a trainer's checkpoints changed after this store generation (a delta"
                    + " for readers that hold the table as of GENERATION; see 'info'). Prints the generation the delta is"
                    + " complete up to: the value to pass next time. Every row when the table was never trained or"
                    + " GENERATION is older than the last 64 checkpoints; an error when the store has not reached"
                    + " GENERATION.")
    Long changedSince;

    @Option(names = "--threads", paramLabel = "N", description = "Formatting threads. Default: all cores.")
    Integer threads;

    @Mixin
    ProgressOption progress;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws IOException {
        long started = System.nanoTime();
        if (format == VectorFormat.FASTTEXT_BIN) {
            throw new UserError(ExitCode.USAGE, "--format fasttext-bin is read by convert, not written: export"
                    + " word2vec (a fastText .vec file), word2vec-binary or glove");
        }
        OutputTarget target = OutputTarget.of(out, "a file");
        if (target.replaced()) {
            OutputLocation.checkExportFile(target.file());
        }
        if (wordsFile != null && changedSince != null) {
            throw new UserError(ExitCode.USAGE, "--words and --changed-since cannot be used together");
        }
        PrintWriter err = spec.commandLine().getErr();
        target.sweepStale(err, spec.qualifiedName());
        try (EmbeddingStore table = store.open()) {
            SparseTrainer.Changes changes = changedSince == null ? null : changes(table);
            RowSelection rows = wordsFile != null ? wordRows(table)
                    : changes != null ? changedRows(table, changes.rows()) : allWords(table);
            ExportSummary sizes;
            try (ProgressOption.Bar bar = progress.startRows("export", rows.size())) {
                ExportOptions.Builder options = ExportOptions.builder().format(format).rows(rows).progress(bar);
                if (threads != null) {
                    options.threads(threads);
                }
                sizes = VectorFiles.export(table, target, options.build());
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            // Standard output carries the export itself: the report goes with the other messages.
            boolean toStdout = target.isStandardOutput();
            PrintWriter o = toStdout ? err : spec.commandLine().getOut();
            if (json.json) {
                o.println("{\"store\":" + JsonText.string(table.path().toAbsolutePath().normalize().toString())
                        + ",\"output\":" + JsonText.string(target.kind() == OutputTarget.Kind.STANDARD_OUTPUT ? "-"
                                : out.toAbsolutePath().normalize().toString())
                        + ",\"format\":" + JsonText.string(format.label()) + ",\"rows\":" + rows.size()
                        + (changes == null ? "" : ",\"changed_since\":" + changedSince + ",\"up_to\":" + changes.upTo())
                        + ",\"bytes\":" + sizes.textBytes() + ",\"written_bytes\":" + sizes.writtenBytes()
                        + ",\"seconds\":" + String.format(Locale.ROOT, "%.3f", seconds) + "}");
            } else {
                String size = target.compressed()
                        ? String.format(Locale.ROOT, "%,d bytes uncompressed, %,d bytes written", sizes.textBytes(),
                                sizes.writtenBytes())
                        : String.format(Locale.ROOT, "%,d bytes", sizes.textBytes());
                o.printf(Locale.ROOT, "exported %,d rows of %s to %s (%s): %s in %.2f s (%s)%n", rows.size(),
                        table.path(), target.shown(), format.label(), size, seconds, ProgressOption.rate(sizes.textBytes(),
                                seconds));
                if (changes != null) {
                    o.printf(Locale.ROOT, "rows changed after generation %d, complete up to generation %d: next time"
                            + " pass --changed-since %d%n", changedSince, changes.upTo(), changes.upTo());
                }
            }
            o.flush();
        }
        return ExitCode.OK;
    }

    private SparseTrainer.Changes changes(EmbeddingStore table) {
        long current = table.generation();
        if (changedSince > current) {
            throw new UserError(ExitCode.USER_ERROR, "--changed-since " + changedSince + ": " + table.path()
                    + " has not reached that generation (its current generation is " + current + "): pass one this"
                    + " store published, such as the 'next time' value of an earlier delta or what 'info' prints");
        }
        try {
            return SparseTrainer.changedSince(table, changedSince);
        } catch (StoreException e) { // a damaged or unreadable checkpoint record: the message names the file
            throw new UserError(ExitCode.USER_ERROR, e.getMessage());
        }
    }

    /** The changed rows in row order; all rows through the plain selection when every row changed. */
    private static RowSelection changedRows(EmbeddingStore table, RoaringBitmap changed) {
        RoaringBitmap present = changed.clone();
        present.remove(table.rows(), 1L << 32); // rows a reader's view does not have yet
        long buckets = table.subwords().map(s -> {
            long first = s.layout().firstBucketRow();
            present.remove(first, first + s.layout().buckets()); // n-gram rows are no words: not in a vector file
            return s.layout().buckets();
        }).orElse(0L);
        if (present.getLongCardinality() == table.rows() - buckets) {
            return allWords(table);
        }
        return RowSelection.of(present.stream().asLongStream().toArray()); // rows < MAX_ROWS = 2^31 - 1: no sign to mend
    }

    /**
     * Every row, but of a store converted from a fastText .bin model only the words (its n-gram buckets are no
     * words): the .vec file fastText itself writes.
     */
    private static RowSelection allWords(EmbeddingStore table) {
        return table.subwords().map(s -> {
            long rows = table.rows();
            long buckets = s.layout().buckets();
            long first = s.layout().firstBucketRow();
            return (RowSelection) new RowSelection() {
                @Override
                public long size() {
                    return rows - buckets;
                }

                @Override
                public long row(long index) {
                    return index < first ? index : index + buckets;
                }
            };
        }).orElse(RowSelection.all(table));
    }

    private RowSelection wordRows(EmbeddingStore table) {
        List<String> lines;
        try {
            lines = Files.readAllLines(wordsFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserError(ExitCode.NOT_FOUND, wordsFile + ": no such file");
        } catch (CharacterCodingException e) {
            throw new UserError(ExitCode.USER_ERROR, wordsFile + ": not UTF-8 text");
        } catch (IOException e) {
            throw new UserError(ExitCode.USER_ERROR, wordsFile + ": cannot read the words file ("
                    + OutputLocation.reason(e) + ")", e);
        }
        List<Long> found = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String word = lines.get(i).strip();
            if (i == 0 && word.startsWith("\uFEFF")) {
                word = word.substring(1);
            }
            if (word.isEmpty()) {
                continue;
            }
            long row = table.rowOf(word);
            if (row < 0) {
                throw new UserError(ExitCode.NOT_FOUND, wordsFile + ": line " + (i + 1) + ": '" + word
                        + "' is not in the vocabulary of " + table.path());
            }
            found.add(row);
        }
        return RowSelection.of(found.stream().mapToLong(Long::longValue).toArray());
    }
}
