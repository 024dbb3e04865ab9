package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.classifier.ClassifierModel;
import io.embstore.index.AnnIndex;
import java.io.PrintWriter;
import java.util.ArrayList;
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
                        + " classifier's model directory only the words are ranked, not its n-gram bucket rows; in a store"
                        + " converted from a fastText .bin model likewise, and a word it does not have is answered"
                        + " from its character n-grams, as fastText does (see --no-subwords).",
                "",
                "With --approx the store's approximate-neighbour index (built by 'embstore index') finds the"
                        + " candidates instead of a scan of every row: about a millisecond a word on a large table, the"
                        + " same output, and the same answer whenever the candidates hold the true top k (they are"
                        + " re-ranked by exact cosine; rows written since the index was built are checked exactly)."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore similar glove300 king", "  embstore similar glove300 king paris -k 5 --json",
                "  embstore similar glove300 king --approx --ef 200"})
final class SimilarCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "WORD", description = "Words to find neighbours of.")
    List<String> words;

    @Option(names = {"-k", "--top"}, paramLabel = "N", defaultValue = "10", description = "How many neighbours. Default: ${DEFAULT-VALUE}.")
    int k;

    @Option(names = "--approx", description = "Use the store's approximate-neighbour index (see 'embstore index').")
    boolean approx;

    @Option(names = "--ef", paramLabel = "N", description = "With --approx: candidates the graph search keeps; more gives"
            + " better recall and slower answers. Default: the larger of -k and " + DEFAULT_EF + ".")
    Integer ef;

    @Mixin
    SubwordsOption subwords;

    @Mixin
    JsonOption json;

    /**
     * The default ef: recall@10 of 0.99 and more on the clustered test tables at about a millisecond a query (the
     * benchmarks in benchmarks/ measure the curve); -k above it raises it to k.
     */
    static final int DEFAULT_EF = 100;

    @Override
    public Integer call() {
        NeighborPrinter.checkedK(k);
        if (ef != null && !approx) {
            throw new UserError(ExitCode.USAGE, "--ef applies to --approx only");
        }
        if (ef != null && ef < 1) {
            throw new UserError(ExitCode.USAGE, "--ef must be 1 or more, found " + ef);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            subwords.require(table, spec.commandLine().getErr(), spec.qualifiedName(), words.toArray(String[]::new));
            StringBuilder all = new StringBuilder("{");
            // One pass for all the words; in a classifier's model directory, over its words only.
            List<List<Neighbor>> answers = approx ? approximate(table)
                    : table.mostSimilar(words, k, ClassifierModel.wordQueryRows(store.dir));
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

    private List<List<Neighbor>> approximate(EmbeddingStore table) {
        if (table.subwords().isPresent()) {
            throw new UserError(ExitCode.USER_ERROR, AnnIndex.subwordsRefused(table) + "; drop --approx");
        }
        if (ClassifierModel.wordQueryRows(store.dir) < table.rows()) {
            throw new UserError(ExitCode.USER_ERROR, store.dir + " is a classifier's model directory: its index would"
                    + " answer n-gram buckets too; use similar without --approx");
        }
        if (!AnnIndex.exists(table)) {
            throw new UserError(ExitCode.NOT_FOUND, store.dir + " has no approximate-neighbour index: build one with"
                    + " 'embstore index " + store.dir + "', or drop --approx");
        }
        JvectorLogging.quiet();
        int candidates = ef != null ? ef : Math.max(k, DEFAULT_EF);
        List<List<Neighbor>> answers = new ArrayList<>(words.size());
        try (AnnIndex index = AnnIndex.open(table)) {
            for (String word : words) {
                answers.add(index.mostSimilar(word, k, candidates));
            }
        }
        return answers;
    }
}
