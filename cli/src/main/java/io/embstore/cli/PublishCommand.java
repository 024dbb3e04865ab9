package io.embstore.cli;

import io.embstore.replication.Replication;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embstore publish}: ships a store's checkpoint deltas to a Kafka topic for replicas. */
@Command(name = "publish",
        sortOptions = false,
        description = {
                "Publish a store's changes to a Kafka topic for replicas.",
                "",
                "Sends the rows each trainer checkpoint changed since the last publish, and rows appended since (with"
                        + " their words), then a checkpoint marker; the first publish to a new topic sends the whole store"
                        + " (the topic is created compacted, partitioned by row range). With --follow, keeps publishing"
                        + " after each checkpoint until stopped (SIGTERM). Opens the store read-only: it never blocks the"
                        + " trainer. Remembers what it published in publish-TOPIC.state in the store directory.",
                "",
                "Following, when the brokers stop answering it says so on standard error and tries again (after 1 s,"
                        + " doubling up to 30 s), then sends everything since the last acknowledged publish; any other"
                        + " failure, and any failure without --follow, exits 1."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore publish table --bootstrap-servers 127.0.0.1:9092 --topic table --follow"})
final class PublishCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--follow", description = "Keep publishing after each checkpoint until stopped.")
    boolean follow;

    @Option(names = "--partitions", defaultValue = "4", paramLabel = "N",
            description = "Partitions of a topic this creates (default ${DEFAULT-VALUE}); an existing topic keeps its own.")
    int partitions;

    @Override
    public Integer call() {
        if (partitions < 1) {
            throw new UserError(ExitCode.USAGE, "--partitions must be at least 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        StopOnSignal stop = follow ? StopOnSignal.install("embstore-publish-stop") : null;
        try {
            Replication.publish(store.dir, kafka.kafka(), partitions, follow, 200, stop == null ? () -> false : stop, p -> {
                out.println("published generation " + p.generation() + " rows " + p.rows() + " sent " + p.rowsSent());
                out.flush();
            }, stderrNotes());
        } finally {
            if (stop != null) {
                stop.finished();
            }
        }
        return ExitCode.OK;
    }
}
