package io.embstore.cli;

import static io.embstore.formats.StaleTemporaries.Wording.EARLIER_RUN;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.StoreBuilder;
import io.embstore.store.Init;
import io.embstore.store.Dtype;
import io.embstore.formats.OutputLocation;
import io.embstore.formats.StaleTemporaries;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** {@code embstore create}: a new store, with or without a vocabulary, its rows initialised. */
@Command(name = "create",
        sortOptions = false,
        description = {
                "Create a new store.",
                "",
                "Creates the directory STORE holding a ROWS x DIM matrix (a NumPy .npy file) and, with --words, a"
                        + " vocabulary mapping each word to its row. Without --words the store is an id-indexed table"
                        + " with no vocabulary. The store appears whole or not at all. Its disk space is reserved"
                        + " before any row is written: a table larger than the free space is refused at once. What"
                        + " killed runs into STORE left behind (hidden .STORE.tmp-* beside it) is removed first, one"
                        + " line on stderr each."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {
                "  embstore create items --rows 100000 --dim 64 --init uniform",
                "  embstore create glove --words vocab.txt --dim 300 --dtype f16"})
final class CreateCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "STORE", description = "Directory to create; it must not exist yet, its parent"
            + " must.")
    Path store;

    @Option(names = "--rows", paramLabel = "N",
            description = "Number of rows. Required unless --words is given, which implies it.")
    Long rows;

    @Option(names = "--dim", paramLabel = "D", required = true, description = "Values per row, 1 to 65536.")
    int dim;

    @Option(names = "--dtype", paramLabel = "f32|f16|q8|q4", defaultValue = "f32", converter = DtypeConverter.class,
            description = "Element type: f32 (float32), f16 (float16, half the bytes), or row-wise quantized q8 (int8)"
                    + " or q4 (int4), read back as float32 (see convert --help). Default: ${DEFAULT-VALUE}.")
    Dtype dtype;

    @Option(names = "--init", paramLabel = "normal|uniform|zeros", defaultValue = "normal",
            converter = InitKindConverter.class,
            description = {"How rows start. Default: ${DEFAULT-VALUE}.",
                    "normal: N(0, 1), as PyTorch's nn.Embedding;",
                    "uniform: U(-0.05, 0.05), as Keras' Embedding;",
                    "zeros: all zero (nothing written; the disk space is reserved)."})
    InitKind init;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the normal and uniform draws; the same seed gives the same table. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--padding-index", paramLabel = "I",
            description = "A padding row (padding_idx): it reads as zeros and is never written. Default: none.")
    Long paddingIndex;

    @Option(names = "--words", paramLabel = "FILE",
            description = "UTF-8 text, one distinct word per line: line i+1 is the word of row i. The store gets a"
                    + " vocabulary and as many rows as words.")
    Path wordsFile;

    /** The initialisers offered on the command line. */
    enum InitKind {
        NORMAL, UNIFORM, ZEROS;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        Init toInit(long seed) {
            return switch (this) {
                case NORMAL -> Init.normal(seed);
                case UNIFORM -> Init.kerasUniform(seed);
                case ZEROS -> Init.zeros();
            };
        }

        String describe(long seed) {
            return switch (this) {
                case NORMAL -> "normal(0, 1), seed " + seed;
                case UNIFORM -> "uniform(-0.05, 0.05), seed " + seed;
                case ZEROS -> "zeros";
            };
        }
    }

    /** {@code --dtype}: the labels the store uses, nothing else. */
    static final class DtypeConverter implements ITypeConverter<Dtype> {
        @Override
        public Dtype convert(String value) {
            Dtype d = Dtype.fromLabel(value);
            if (d == null) {
                throw new TypeConversionException("expected f32, f16, q8 or q4, found '" + value + "'");
            }
            return d;
        }
    }

    /** {@code --init}: lower-case names. */
    static final class InitKindConverter implements ITypeConverter<InitKind> {
        @Override
        public InitKind convert(String value) {
            for (InitKind k : InitKind.values()) {
                if (k.label().equals(value)) {
                    return k;
                }
            }
            throw new TypeConversionException("expected normal, uniform or zeros, found '" + value + "'");
        }
    }

    @Override
    public Integer call() {
        if (rows == null && wordsFile == null) {
            throw new ParameterException(spec.commandLine(), "give --rows=N, or --words=FILE whose lines are the rows");
        }
        OutputLocation.checkParent(store);
        StaleTemporaries.sweep(store, spec.commandLine().getErr(), spec.qualifiedName(), EARLIER_RUN);
        StoreBuilder builder = EmbeddingStore.builder(store)
                .dim(dim)
                .dtype(dtype)
                .init(init.toInit(seed));
        if (wordsFile != null) {
            List<String> words = readWords(wordsFile);
            if (rows != null && rows != words.size()) {
                throw new UserError(ExitCode.USER_ERROR, "--rows " + rows + " differs from the " + words.size()
                        + " words in " + wordsFile + ": give one or the other");
            }
            builder.words(words);
        } else {
            builder.rows(rows).vocabulary(false);
        }
        if (paddingIndex != null) {
            builder.paddingIndex(paddingIndex);
        }
        try (WritableStore created = builder.create()) {
            spec.commandLine().getOut().println("created " + created.path().toAbsolutePath() + ": "
                    + created.rows() + " rows x " + created.dim() + " dims " + created.dtype().label() + ", "
                    + (created.hasVocabulary() ? "vocabulary of " + created.rows() + " words" : "no vocabulary")
                    + ", " + init.describe(seed)
                    + (created.paddingIndex() >= 0 ? ", padding row " + created.paddingIndex() : ""));
        }
        return ExitCode.OK;
    }

    /**
     * The words of a words file, one a line (LF, CRLF or CR ends). A leading byte order mark is not part of the first
     * word; an empty line or a repeated word is an error naming its line.
     */
    static List<String> readWords(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserError(ExitCode.NOT_FOUND, file + ": no such words file");
        } catch (CharacterCodingException e) {
            throw new UserError(ExitCode.USER_ERROR, file + ": not UTF-8 text (words files must be UTF-8)", e);
        } catch (IOException e) {
            throw new UserError(ExitCode.USER_ERROR, file + ": cannot read the words file (" + e.getMessage() + ")", e);
        }
        List<String> words = new ArrayList<>(lines.size());
        Map<String, Integer> firstLine = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String w = lines.get(i);
            if (i == 0 && w.startsWith("\uFEFF")) {
                w = w.substring(1);
            }
            if (w.isEmpty()) {
                throw new UserError(ExitCode.USER_ERROR, file + " line " + (i + 1) + ": empty line, expected a word");
            }
            Integer previous = firstLine.putIfAbsent(w, i + 1);
            if (previous != null) {
                throw new UserError(ExitCode.USER_ERROR, file + " line " + (i + 1) + ": duplicate word '" + w
                        + "' (first on line " + previous + "); words must be distinct");
            }
            words.add(w);
        }
        return words;
    }
}
