package io.embstore.cli;

import static io.embstore.formats.StaleTemporaries.Wording.EARLIER_RUN;

import io.embstore.formats.ConvertOptions;
import io.embstore.formats.OutputLocation;
import io.embstore.formats.StaleTemporaries;
import io.embstore.formats.ConversionSummary;
import io.embstore.formats.VectorFiles;
import io.embstore.formats.VectorFormat;
import java.io.PrintWriter;
import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.WritableStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code embstore convert}: a word2vec, fastText or GloVe file (optionally gzip-compressed) into a new store, or a store
 * into a new store of another dtype (how a table is quantized).
 */
@Command(name = "convert",
        sortOptions = false,
        description = {
                "Convert a vector file into a new store, or a store into a new store of another dtype.",
                "",
                "Reads word2vec text, fastText .vec, GloVe text or word2vec binary, plain or gzip-compressed (.gz),"
                        + " or a fastText .bin model (words and character n-gram buckets, so that the store answers"
                        + " words it does not have as fastText does; quantized .ftz models are not supported),"
                        + " detecting the format unless --format is given. Values are parsed exactly (the float32 that"
                        + " Java's Float.parseFloat gives), on every core for plain text. Any error names the file, the"
                        + " line (or byte offset) and what was expected, and leaves no store behind. A full disk is"
                        + " an error saying how many bytes were missing. What killed runs into STORE left behind"
                        + " (hidden .STORE.tmp-* beside it) is removed first, one line on stderr each."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  embstore convert glove.6B.300d.txt glove300",
                "  embstore convert GoogleNews-vectors-negative300.bin.gz news --dtype f16",
                "  embstore convert crawl-300d-2M.vec crawl --limit 100000 --on-duplicate error",
                "  embstore convert cc.en.300.bin cc-en   (fastText model: unknown words from n-grams)",
                "  embstore convert glove300 glove300-q8 --dtype q8   (a store into a quantized copy)"})
final class ConvertCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "IN", description = "The vector file (.txt, .vec, .bin, optionally .gz), or a"
            + " store directory to copy into STORE with --dtype (its words, padding row and rows, converted).")
    Path input;

    @Parameters(index = "1", paramLabel = "STORE", description = "The store directory to create; it must not exist yet,"
            + " its parent must.")
    Path store;

    @Option(names = "--format", paramLabel = "FORMAT", converter = FormatConverter.class,
            description = "word2vec (text with a 'rows dim' header; fastText .vec too), glove (text, no header),"
                    + " word2vec-binary or fasttext-bin (a fastText .bin model). Default: detected from the first"
                    + " bytes.")
    VectorFormat format;

    @Option(names = "--dtype", paramLabel = "f32|f16|q8|q4", converter = CreateCommand.DtypeConverter.class,
            description = "Element type of the store: f32, f16, or row-wise quantized q8 (int8, 8 + dim bytes a row)"
                    + " or q4 (int4, 4 + dim/2 bytes a row), which read back as float32 within half a step of the row's"
                    + " range (docs/FORMAT.md). Quantizing is a conversion: a trained f32/f16 store converts to q8/q4,"
                    + " the trainer does not train q8/q4 stores. Default: f32 (for a store IN: IN's own dtype).")
    Dtype dtype;

    @Option(names = "--on-duplicate", paramLabel = "first|last|error", defaultValue = "first",
            converter = DuplicatesConverter.class,
            description = "A word that appears again: keep the first vector (as gensim does), the last one, or stop"
                    + " with an error. Default: ${DEFAULT-VALUE}.")
    ConvertOptions.Duplicates onDuplicate;

    @Option(names = "--encoding", paramLabel = "utf8|replace|latin1", defaultValue = "utf8",
            converter = EncodingConverter.class,
            description = "How words are read: strict UTF-8 (an invalid byte is an error naming the line), UTF-8 with"
                    + " invalid bytes replaced by U+FFFD, or Latin-1. Default: ${DEFAULT-VALUE}.")
    ConvertOptions.WordEncoding encoding;

    @Option(names = "--limit", paramLabel = "N", description = "Read only the first N rows.")
    Long limit;

    @Option(names = "--allow-nonfinite", description = "Keep NaN and infinite values instead of stopping at them.")
    boolean allowNonFinite;

    @Option(names = "--threads", paramLabel = "N", description = "Parser threads for plain text input. Default: all cores.")
    Integer threads;

    @Mixin
    ProgressOption progress;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (EmbeddingStore.isStore(input)) {
            return convertStore();
        }
        if (dtype == null) {
            dtype = Dtype.F32;
        }
        if (allowNonFinite && dtype.quantized()) {
            throw new UserError(ExitCode.USAGE, "--allow-nonfinite cannot be used with --dtype " + dtype.label()
                    + ": quantized rows hold finite values only");
        }
        if (limit != null && limit < 0) {
            throw new UserError(ExitCode.USAGE, "--limit must be 0 or more, found " + limit);
        }
        if (threads != null && threads < 1) {
            throw new UserError(ExitCode.USAGE, "--threads must be 1 or more, found " + threads);
        }
        if (Files.exists(store)) {
            throw new UserError(ExitCode.USER_ERROR, store + ": already exists: choose a new path or delete it first");
        }
        OutputLocation.checkParent(store);
        StaleTemporaries.sweep(store, spec.commandLine().getErr(), spec.qualifiedName(), EARLIER_RUN);
        // A compressed input's size says nothing of the bytes parsed: its bar shows progress without an end.
        long size = !Files.isRegularFile(input) ? 0 : VectorFiles.isCompressed(input) ? -1 : Files.size(input);
        ConversionSummary s;
        try (ProgressOption.Bar bar = progress.start("convert", size)) {
            ConvertOptions.Builder options = ConvertOptions.builder()
                    .format(format)
                    .dtype(dtype)
                    .onDuplicate(onDuplicate)
                    .encoding(encoding)
                    .limit(limit == null ? -1 : limit)
                    .allowNonFinite(allowNonFinite)
                    .progress(bar);
            if (threads != null) {
                options.threads(threads);
            }
            s = VectorFiles.convert(input, store, options.build());
        }
        PrintWriter out = spec.commandLine().getOut();
        double seconds = s.nanos() / 1e9;
        if (json.json) {
            out.println("{\"input\":" + JsonText.string(s.input().toString())
                    + ",\"store\":" + JsonText.string(s.store().toAbsolutePath().normalize().toString())
                    + ",\"format\":" + JsonText.string(s.format().label())
                    + ",\"rows\":" + s.rows() + ",\"dim\":" + s.dim()
                    + ",\"dtype\":" + JsonText.string(s.dtype().label())
                    + ",\"duplicates\":" + s.duplicates()
                    + ",\"input_bytes\":" + s.inputBytes()
                    + ",\"seconds\":" + String.format(Locale.ROOT, "%.3f", seconds) + "}");
        } else {
            out.printf(Locale.ROOT, "converted %s (%s) to %s: %,d rows x %d dims %s in %.2f s (%s)%n", s.input(),
                    s.format().label(), s.store(), s.rows(), s.dim(), s.dtype().label(), seconds,
                    ProgressOption.rate(s.inputBytes(), seconds));
            if (s.duplicates() > 0) {
                out.printf(Locale.ROOT, "%,d duplicate words kept their %s vector (e.g. %s)%n", s.duplicates(),
                        onDuplicate == ConvertOptions.Duplicates.LAST ? "last" : "first", String.join(", ", s.duplicateExamples()));
            }
        }
        out.flush();
        return ExitCode.OK;
    }

    /**
     * IN is a store: copies it into STORE with {@code --dtype}, atomically (built in a temporary sibling), with its
     * norms computed so that readers' queries find them.
     */
    private int convertStore() {
        long started = System.nanoTime();
        for (String vectorFileOnly : spec.commandLine().getParseResult().matchedOptions().stream()
                .map(o -> o.longestName()).filter(n -> !n.equals("--dtype") && !n.equals("--json")
                        && !n.equals("--quiet")).toList()) {
            throw new UserError(ExitCode.USAGE, vectorFileOnly + " applies to vector files; " + input
                    + " is a store, which convert copies with --dtype only");
        }
        if (Files.exists(store)) {
            throw new UserError(ExitCode.USER_ERROR, store + ": already exists: choose a new path or delete it first");
        }
        OutputLocation.checkParent(store);
        StaleTemporaries.sweep(store, spec.commandLine().getErr(), spec.qualifiedName(), EARLIER_RUN);
        long rows;
        int dim;
        Dtype written;
        try (EmbeddingStore source = EmbeddingStore.open(input)) {
            written = dtype != null ? dtype : source.dtype();
            rows = source.rows();
            dim = source.dim();
            try (WritableStore copy = EmbeddingStore.builder(store).init(Init.copyOf(source)).dtype(written)
                    .vocabulary(source.hasVocabulary()).paddingIndex(source.paddingIndex()).create()) {
                copy.computeNorms();
            } catch (IllegalArgumentException e) {
                // A row the dtype cannot hold (non-finite, or too wide for q4): nothing was created.
                throw new UserError(ExitCode.USER_ERROR, input + ": " + e.getMessage());
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        PrintWriter out = spec.commandLine().getOut();
        if (json.json) {
            out.println("{\"input\":" + JsonText.string(input.toString())
                    + ",\"store\":" + JsonText.string(store.toAbsolutePath().normalize().toString())
                    + ",\"format\":\"store\",\"rows\":" + rows + ",\"dim\":" + dim
                    + ",\"dtype\":" + JsonText.string(written.label())
                    + ",\"seconds\":" + String.format(Locale.ROOT, "%.3f", seconds) + "}");
        } else {
            out.printf(Locale.ROOT, "converted %s (store) to %s: %,d rows x %d dims %s in %.2f s%n", input, store, rows,
                    dim, written.label(), seconds);
        }
        out.flush();
        return ExitCode.OK;
    }

    static final class FormatConverter implements ITypeConverter<VectorFormat> {
        @Override
        public VectorFormat convert(String value) {
            VectorFormat f = VectorFormat.fromLabel(value);
            if (f == null) {
                throw new TypeConversionException("expected word2vec, glove, word2vec-binary or fasttext-bin, found '" + value + "'");
            }
            return f;
        }
    }

    static final class DuplicatesConverter implements ITypeConverter<ConvertOptions.Duplicates> {
        @Override
        public ConvertOptions.Duplicates convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "first" -> ConvertOptions.Duplicates.FIRST;
                case "last" -> ConvertOptions.Duplicates.LAST;
                case "error" -> ConvertOptions.Duplicates.ERROR;
                default -> throw new TypeConversionException("expected first, last or error, found '" + value + "'");
            };
        }
    }

    static final class EncodingConverter implements ITypeConverter<ConvertOptions.WordEncoding> {
        @Override
        public ConvertOptions.WordEncoding convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "utf8", "utf-8" -> ConvertOptions.WordEncoding.UTF8;
                case "replace" -> ConvertOptions.WordEncoding.REPLACE;
                case "latin1", "latin-1", "iso-8859-1" -> ConvertOptions.WordEncoding.LATIN1;
                default -> throw new TypeConversionException("expected utf8, replace or latin1, found '" + value + "'");
            };
        }
    }
}
