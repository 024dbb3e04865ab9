package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code embstore similarity}: the cosine similarity of two words. */
@Command(name = "similarity",
        description = {"Print the cosine similarity of two words."},
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
    JsonOption json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            NeighborPrinter.requireWords(table, w1, w2);
            float s = table.similarity(w1, w2);
            if (json.json) {
                out.println("{\"word1\":" + JsonText.string(w1) + ",\"word2\":" + JsonText.string(w2) + ",\"similarity\":"
                        + JsonText.number(s) + "}");
            } else {
                out.printf(Locale.ROOT, "%.6f%n", s);
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
