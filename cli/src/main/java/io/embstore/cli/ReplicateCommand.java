package io.embstore.cli;

import io.embstore.replication.Replication;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code embstore replicate}: creates or follows a replica of a published table. */
@Command(name = "replicate",
        sortOptions = false,
        description = {
                "Create or follow a replica of a table published to Kafka.",
                "",
                "Applies the topic's records to the replica store DIR as its single writer (creating it the first"
                        + " time); readers of DIR (embstore serve, Python, the JVM) see rows change as usual. Offsets are"
                        + " recorded in DIR/replica.state only after the rows are durable, so a killed replica resumes"
                        + " without loss. With --once, applies what the topic holds and exits; otherwise follows until"
                        + " stopped (SIGTERM). --rows A:B makes a shard: only the partitions covering those rows are"
                        + " read, and table row r is the shard's row r-A.",
                "",
                "Following, when the brokers stop answering it says so on standard error (and again when they"
                        + " answer) and keeps trying, resuming from the offsets it recorded; any other failure, and any"
                        + " failure with --once, exits 1."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore replicate --bootstrap-servers 127.0.0.1:9092 --topic table replica",
                "  embstore replicate --bootstrap-servers 127.0.0.1:9092 --topic table --rows 0:500000 --once shard0"})
final class ReplicateCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "DIR", description = "The replica store directory (created if absent).")
    Path dir;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--once", description = "Apply what the topic holds up to its latest checkpoint marker, then exit.")
    boolean once;

    @Option(names = "--rows", paramLabel = "A:B", description = "Hold only table rows [A, B) (A: for A to the end).")
    String rows;

    @Override
    public Integer call() {
        Replication.RowRange range;
        try {
            range = rows == null ? Replication.RowRange.ALL : Replication.RowRange.parse(rows);
        } catch (IllegalArgumentException e) {
            throw new UserError(ExitCode.USAGE, "--rows: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        StopOnSignal stop = once ? null : StopOnSignal.install("embstore-replicate-stop");
        Replication.Applied a;
        try {
            a = Replication.replicate(dir, kafka.kafka(), range, once, stop == null ? () -> false : stop, x -> {
                out.println("applied generation " + x.generation() + " rows " + x.rows() + " rows-applied "
                        + x.rowsApplied());
                out.flush();
            }, stderrNotes());
        } finally {
            if (stop != null) {
                stop.finished();
            }
        }
        if (once) {
            out.println("replica " + dir + " at generation " + a.generation() + " rows " + a.rows());
        }
        return ExitCode.OK;
    }
}
