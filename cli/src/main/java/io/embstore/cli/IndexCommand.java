package io.embstore.cli;

import io.embstore.index.AnnIndex;
import io.embstore.index.AnnIndexOptions;
import io.embstore.store.EmbeddingStore;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore index}: builds the approximate-neighbour index that {@code similar --approx} uses. */
@Command(name = "index",
        sortOptions = false,
        description = {
                "Build the approximate-neighbour index of a store.",
                "",
                "Builds a graph over every row (jvector's Vamana graph, cosine similarity) and writes it into the store"
                        + " directory as ann.index, replacing any index there atomically: processes querying the old one"
                        + " keep going. 'similar --approx' then answers in about a millisecond instead of scanning every"
                        + " row, re-ranking its candidates by exact cosine. Rows written after the build are still found"
                        + " (checked by brute force); 'info' says how many, and running this again folds them in."
                        + " Opens the store read-only: a writer may keep writing meanwhile."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore index glove300", "  embstore index glove300 --m 48 --beam 200 --threads 4 --json"})
final class IndexCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Option(names = "--m", paramLabel = "M", defaultValue = "" + AnnIndexOptions.DEFAULT_M,
            description = "Neighbours kept per row: more gives better recall at a given --ef, a bigger index and a"
                    + " slower build (2 to 512); 16 halves the index. Default: ${DEFAULT-VALUE} (the bottom-layer"
                    + " degree of HNSW at M 16: the graph here has one layer).")
    int m;

    @Option(names = "--beam", paramLabel = "B", defaultValue = "" + AnnIndexOptions.DEFAULT_BEAM,
            description = "Candidates considered while inserting each row (efConstruction): more gives a better graph"
                    + " and a slower build. Default: ${DEFAULT-VALUE}.")
    int beam;

    @Option(names = "--threads", paramLabel = "N", description = "Build threads. Default: all cores.")
    Integer threads;

    @Mixin
    ProgressOption progress;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        AnnIndexOptions options;
        try {
            options = new AnnIndexOptions(m, beam, threads == null ? Runtime.getRuntime().availableProcessors() : threads);
        } catch (IllegalArgumentException e) {
            throw new UserError(ExitCode.USAGE, "--" + e.getMessage());
        }
        JvectorLogging.quiet();
        PrintWriter out = spec.commandLine().getOut();
        long started = System.nanoTime();
        try (EmbeddingStore table = store.open()) {
            if (table.subwords().isPresent()) {
                throw new UserError(ExitCode.USER_ERROR, AnnIndex.subwordsRefused(table));
            }
            long rows;
            long bytes;
            long generation;
            try (ProgressOption.Bar bar = progress.startCount("index", table.rows(), " rows");
                 AnnIndex index = AnnIndex.build(table, options, n -> bar.advance(0, n))) {
                rows = index.rowsCovered();
                bytes = index.fileBytes();
                generation = index.builtAtGeneration();
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            String path = table.path().toAbsolutePath().normalize().toString();
            if (json.json) {
                out.println("{\"store\":" + JsonText.string(path) + ",\"rows\":" + rows + ",\"dim\":" + table.dim()
                        + ",\"m\":" + options.m() + ",\"beam\":" + options.beam() + ",\"threads\":" + options.threads()
                        + ",\"generation\":" + generation + ",\"index_bytes\":" + bytes
                        + ",\"seconds\":" + String.format(Locale.ROOT, "%.3f", seconds) + "}");
            } else {
                out.printf(Locale.ROOT, "indexed %s: %,d rows x %d dims in %.2f s (M %d, beam %d, %d threads; ann.index %s)%n",
                        table.path(), rows, table.dim(), seconds, options.m(), options.beam(), options.threads(),
                        InfoCommand.humanBytes(bytes));
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
