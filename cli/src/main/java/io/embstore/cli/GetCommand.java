package io.embstore.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.embstore.store.EmbeddingStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/** {@code embstore get}: vectors by word or by row number. */
@Command(name = "get",
        sortOptions = false,
        description = {
                "Print the vectors of words or rows.",
                "",
                "Prints one line per vector, 'word v1 v2 ...' as in word2vec text files (the row number stands for"
                        + " the word in a store without vocabulary). Values are the shortest decimals that read back"
                        + " as the same float32. A word that is not in the vocabulary, or a row outside the store, is"
                        + " reported on stderr and the exit status is 3; the others are still printed.",
                "",
                "A store converted from a fastText .bin model answers a word it does not have from its character"
                        + " n-grams (the mean of their bucket rows), as 'fasttext print-word-vectors' does; --json marks"
                        + " such a vector \"subword\":true (and gives no row), --no-subwords refuses the word instead."
                        + " A word it has gets its row, which holds fastText's vector of the word (its own row"
                        + " averaged with its n-grams', composed at the conversion)."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore get glove king queen", "  embstore get glove --rows 0,1,2 --json"})
final class GetCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Parameters(index = "1..*", paramLabel = "WORD", arity = "0..*", description = "Words to look up.")
    List<String> words = new ArrayList<>();

    @Option(names = "--rows", paramLabel = "ROW", split = ",",
            description = "Row numbers to print instead of words, comma-separated: --rows 0,5,42.")
    List<Long> rows = new ArrayList<>();

    @Mixin
    SubwordsOption subwords;

    @Mixin
    JsonOption json;

    /** One vector found. */
    /** One vector found; {@code subword} when it was built from n-grams (row -1). */
    private record Found(long row, String word, float[] vector, boolean subword) {
    }

    @Override
    public Integer call() {
        if (words.isEmpty() == rows.isEmpty()) {
            throw new ParameterException(spec.commandLine(), words.isEmpty()
                    ? "give at least one WORD, or --rows=ROW[,ROW...]"
                    : "give WORDs or --rows, not both");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String name = spec.qualifiedName();
        List<Found> found = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        try (EmbeddingStore table = store.open()) {
            Path path = table.path().toAbsolutePath().normalize();
            if (!words.isEmpty()) {
                if (!table.hasVocabulary()) {
                    throw new UserError(ExitCode.USER_ERROR, path + " has no vocabulary (an id-indexed table):"
                            + " look rows up with --rows=ROW[,ROW...]");
                }
                for (String w : words) {
                    long row = table.rowOf(w);
                    if (row < 0 && subwords.answers(table, w)) {
                        float[] v = new float[table.dim()];
                        table.subwords().orElseThrow().vector(w, v);
                        found.add(new Found(-1, w, v, true));
                    } else if (row < 0) {
                        missing.add(JsonText.string(w));
                        err.println(name + ": '" + w + "' is not in the vocabulary of " + path);
                    } else {
                        found.add(new Found(row, w, read(table, row), false));
                    }
                }
            } else {
                for (long row : rows) {
                    if (row < 0 || row >= table.rows()) {
                        missing.add(Long.toString(row));
                        err.println(name + ": row " + row + " is outside " + path + ", whose rows are 0 to "
                                + (table.rows() - 1));
                    } else {
                        found.add(new Found(row, table.hasVocabulary() ? table.word(row) : null, read(table, row), false));
                    }
                }
            }
            err.flush();
            if (json.json) {
                printJson(out, path, table.dim(), found, missing);
            } else {
                for (Found f : found) {
                    StringBuilder b = new StringBuilder(f.word() != null ? f.word() : Long.toString(f.row()));
                    for (float v : f.vector()) {
                        b.append(' ').append(v);
                    }
                    out.println(b);
                }
            }
        }
        return missing.isEmpty() ? ExitCode.OK : ExitCode.NOT_FOUND;
    }

    private static float[] read(EmbeddingStore table, long row) {
        float[] v = new float[table.dim()];
        table.read(row, v);
        return v;
    }

    /** {"path":..., "dim":..., "vectors":[{"row":..,"word":..,"vector":[..]}], "missing":[..]} */
    private static void printJson(PrintWriter out, Path path, int dim, List<Found> found, List<String> missing) {
        StringBuilder b = new StringBuilder("{\"path\":").append(JsonText.string(path.toString()));
        b.append(",\"dim\":").append(dim).append(",\"vectors\":[");
        for (int i = 0; i < found.size(); i++) {
            Found f = found.get(i);
            b.append(i == 0 ? "{" : ",{");
            if (!f.subword()) {
                b.append("\"row\":").append(f.row()).append(f.word() != null ? "," : "");
            }
            if (f.word() != null) {
                b.append("\"word\":").append(JsonText.string(f.word()));
            }
            if (f.subword()) {
                b.append(",\"subword\":true");
            }
            b.append(",\"vector\":[");
            float[] v = f.vector();
            for (int j = 0; j < v.length; j++) {
                b.append(j == 0 ? "" : ",").append(JsonText.number(v[j]));
            }
            b.append("]}");
        }
        b.append("],\"missing\":[").append(String.join(",", missing)).append("]}");
        out.println(b);
    }
}
