package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code embstore similarity}: the cosine similarity of two words. */
@Command(name = "similarity",
        description = {"Print the cosine similarity of two words.", "",
                "In a store converted from a fastText .bin model a word it does not have is answered from its"
                        + " character n-grams, as fastText does (see --no-subwords); --json then adds \"subword\":true."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore similarity glove300 tiger cat"})
final class SimilarityCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Parameters(index = "1", paramLabel = "WORD1", description = "The first word.")
    String w1;

    @Parameters(index = "2", paramLabel = "WORD2", description = "The second word.")
    String w2;

    @Mixin
    SubwordsOption subwords;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            java.util.Set<String> fromSubwords = subwords.require(table, spec.commandLine().getErr(),
                    spec.qualifiedName(), w1, w2);
            float s = table.similarity(w1, w2);
            if (json.json) {
                out.println("{\"word1\":" + JsonText.string(w1) + ",\"word2\":" + JsonText.string(w2) + ",\"similarity\":"
                        + JsonText.number(s) + (fromSubwords.isEmpty() ? "" : ",\"subword\":true") + "}");
            } else {
                out.printf(Locale.ROOT, "%.6f%n", s);
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
