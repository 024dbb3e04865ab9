package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.classifier.ClassifierModel;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code embstore similar}: the nearest words by cosine similarity, like gensim's most_similar. */
@Command(name = "similar",
        sortOptions = false,
        description = {
                "Print the words most similar to a word.",
                "",
                "Ranks every row by cosine similarity to the word's vector (leaving out the word itself), like"
                        + " gensim's most_similar. Several words are answered in one pass over the matrix. In a"
                        + " classifier's model directory only the words are ranked, not its n-gram bucket rows."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore similar glove300 king", "  embstore similar glove300 king paris -k 5 --json"})
final class SimilarCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "WORD", description = "Words to find neighbours of.")
    List<String> words;

    @Option(names = {"-k", "--top"}, paramLabel = "N", defaultValue = "10", description = "How many neighbours. Default: ${DEFAULT-VALUE}.")
    int k;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        NeighborPrinter.checkedK(k);
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            NeighborPrinter.requireWords(table, words.toArray(String[]::new));
            StringBuilder all = new StringBuilder("{");
            // One pass for all the words; in a classifier's model directory, over its words only.
            List<List<Neighbor>> answers = table.mostSimilar(words, k, ClassifierModel.wordQueryRows(store.dir));
            for (int i = 0; i < words.size(); i++) {
                List<Neighbor> neighbors = answers.get(i);
                if (json.json) {
                    all.append(i == 0 ? "" : ",").append(JsonText.string(words.get(i))).append(':')
                            .append(NeighborPrinter.json(neighbors));
                } else {
                    if (words.size() > 1) {
                        out.println((i == 0 ? "" : "\n") + words.get(i) + ":");
                    }
                    NeighborPrinter.text(out, neighbors);
                }
            }
            if (json.json) {
                out.println(all.append('}'));
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
