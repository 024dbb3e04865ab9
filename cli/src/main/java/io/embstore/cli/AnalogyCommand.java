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

/** {@code embstore analogy}: A is to B as C is to what (B - A + C)? */
@Command(name = "analogy",
        sortOptions = false,
        description = {
                "Solve 'A is to B as C is to ?'.",
                "",
                "Ranks every row by cosine similarity to B - A + C (on unit vectors), leaving out A, B and C: gensim's"
                        + " most_similar(positive=[B, C], negative=[A]). In a classifier's model directory only the"
                        + " words are ranked, not its n-gram bucket rows. In a store converted from a fastText .bin model a"
                        + " word it does not have is answered from its character n-grams (see --no-subwords)."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore analogy glove300 man king woman      (queen, hopefully)"})
final class AnalogyCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Parameters(index = "1", paramLabel = "A", description = "A, as in man.")
    String a;

    @Parameters(index = "2", paramLabel = "B", description = "B, as in king.")
    String b;

    @Parameters(index = "3", paramLabel = "C", description = "C, as in woman.")
    String c;

    @Option(names = {"-k", "--top"}, paramLabel = "N", defaultValue = "10", description = "How many answers. Default: ${DEFAULT-VALUE}.")
    int k;

    @Mixin
    SubwordsOption subwords;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        NeighborPrinter.checkedK(k);
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            subwords.require(table, spec.commandLine().getErr(), spec.qualifiedName(), a, b, c);
            List<Neighbor> answers = table.analogy(a, b, c, k, ClassifierModel.wordQueryRows(store.dir));
            if (json.json) {
                out.println(NeighborPrinter.json(answers));
            } else {
                NeighborPrinter.text(out, answers);
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
