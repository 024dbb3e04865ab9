package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Verification;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore verify}: reads every file of a store and checks it. */
@Command(name = "verify",
        sortOptions = false,
        description = {
                "Check every file of a store.",
                "",
                "Opens the store (which checks every file's size and header), compares each data file with the"
                        + " CRC-32C recorded when the store was made, checks every word record and that each word looks"
                        + " up its own row, that no row was left half-written, and counts NaN and infinite values; then"
                        + " the approximate-neighbour index, if there is one (its checksums, that it is this store's). A"
                        + " writer's first change deletes the recorded checksums (they would be stale);"
                        + " --record-checksums records them anew (it takes the writer lock)."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore verify glove300", "  embstore verify glove300 --record-checksums"})
final class VerifyCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Option(names = "--record-checksums", description = "After a successful check, record checksums of the files as they are.")
    boolean record;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        long started = System.nanoTime();
        Verification v;
        AnnIndexStatus ann;
        try (EmbeddingStore table = record ? store.openForWriting() : store.open()) {
            v = table.verify();
            ann = AnnIndexStatus.of(table);
            if (v.ok() && table instanceof WritableStore writer) {
                writer.recordChecksums();
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        PrintWriter out = spec.commandLine().getOut();
        List<String> problemList = new ArrayList<>(v.problems());
        if (ann.problem() != null) {
            problemList.add(ann.problem());
        }
        boolean ok = problemList.isEmpty();
        if (json.json) {
            StringBuilder problems = new StringBuilder("[");
            for (String p : problemList) {
                problems.append(problems.length() > 1 ? "," : "").append(JsonText.string(p));
            }
            out.println("{\"store\":" + JsonText.string(store.dir.toAbsolutePath().normalize().toString()) + ",\"ok\":" + ok
                    + ",\"rows\":" + v.rows() + ",\"checksums_checked\":" + v.checksumsChecked()
                    + ",\"nonfinite_values\":" + v.nonFiniteValues() + ",\"ann_index\":" + ann.json()
                    + ",\"problems\":" + problems + "]}");
        } else {
            for (String p : problemList) {
                out.println("problem: " + p);
            }
            if (ann.present() && ann.problem() == null) {
                out.println("ann index: OK, " + ann.text());
            }
            out.printf(Locale.ROOT, "%s: %s, %,d rows checked, checksums %s, %,d NaN or infinite values (%.2f s)%n", store.dir,
                    ok ? "OK" : problemList.size() + " problems",
                    v.rows(), v.checksumsChecked() ? (record && v.ok() ? "checked and recorded anew" : "match")
                            : record && v.ok() ? "recorded" : "not recorded (changed since creation)",
                    v.nonFiniteValues(), seconds);
        }
        out.flush();
        return ok ? ExitCode.OK : ExitCode.USER_ERROR;
    }
}
