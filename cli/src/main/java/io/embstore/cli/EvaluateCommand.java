package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.classifier.WordEvaluation;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore evaluate}: word-pair correlation and analogy accuracy, as gensim's evaluate_word_pairs/_analogies. */
@Command(name = "evaluate",
        sortOptions = false,
        description = {
                "Score a store on word-pair similarities and analogy questions.",
                "",
                "--word-pairs: lines 'word1 word2 score' (WordSim-353 and similar); prints the Pearson and Spearman"
                        + " correlation of cosine similarity with the human scores. --analogies: Google's"
                        + " questions-words.txt format; prints the accuracy per section and overall. Words are"
                        + " lower-cased and pairs or questions with unknown words are skipped and counted, as gensim does;"
                        + " a file with no pairs or questions at all is an error."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore evaluate glove300 --word-pairs wordsim353.tsv --analogies questions-words.txt"})
final class EvaluateCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Option(names = "--word-pairs", paramLabel = "FILE", description = "Word pairs with human similarity scores.")
    Path pairs;

    @Option(names = "--analogies", paramLabel = "FILE", description = "Analogy questions, 'a b c d' per line.")
    Path analogies;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        if (pairs == null && analogies == null) {
            throw new UserError(ExitCode.USAGE, "give --word-pairs FILE, --analogies FILE or both");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            if (!table.hasVocabulary()) {
                throw new UserError(ExitCode.USER_ERROR, table.path() + " has no vocabulary to evaluate");
            }
            // Both files are read and scored before anything is printed: a bad second file leaves no half report.
            WordEvaluation.PairResult pairResult = pairs == null ? null : WordEvaluation.wordPairs(table, pairs);
            WordEvaluation.AnalogyResult analogyResult = analogies == null ? null : WordEvaluation.analogies(table, analogies);
            StringBuilder j = new StringBuilder("{");
            if (pairResult != null) {
                WordEvaluation.PairResult r = pairResult;
                if (json.json) {
                    j.append("\"word_pairs\":{\"pairs\":").append(r.pairs()).append(",\"skipped\":").append(r.skipped())
                            .append(",\"pearson\":").append(number(r.pearson())).append(",\"spearman\":")
                            .append(number(r.spearman())).append('}');
                } else {
                    out.printf(Locale.ROOT, "word pairs  %s: %d pairs (%d skipped: unknown words), Pearson %.4f, Spearman %.4f%n",
                            pairs.getFileName(), r.pairs(), r.skipped(), r.pearson(), r.spearman());
                }
            }
            if (analogyResult != null) {
                WordEvaluation.AnalogyResult r = analogyResult;
                if (json.json) {
                    j.append(j.length() > 1 ? "," : "").append("\"analogies\":{\"correct\":").append(r.correct())
                            .append(",\"total\":").append(r.total()).append(",\"skipped\":").append(r.skipped())
                            .append(",\"accuracy\":").append(number(r.accuracy())).append(",\"sections\":[");
                    for (int i = 0; i < r.sections().size(); i++) {
                        WordEvaluation.Section s = r.sections().get(i);
                        j.append(i == 0 ? "" : ",").append("{\"name\":").append(JsonText.string(s.name()))
                                .append(",\"correct\":").append(s.correct()).append(",\"total\":").append(s.total()).append('}');
                    }
                    j.append("]}");
                } else {
                    for (WordEvaluation.Section s : r.sections()) {
                        out.printf(Locale.ROOT, "  %-28s %5d / %-5d %.4f%n", s.name(), s.correct(), s.total(),
                                s.total() == 0 ? 0.0 : (double) s.correct() / s.total());
                    }
                    out.printf(Locale.ROOT, "analogies   %s: %d / %d correct, accuracy %.4f (%d skipped: unknown words)%n",
                            analogies.getFileName(), r.correct(), r.total(), r.accuracy(), r.skipped());
                }
            }
            if (json.json) {
                out.println(j.append('}'));
            }
        }
        out.flush();
        return ExitCode.OK;
    }

    private static String number(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }
}
