package io.embstore.cli;

import io.embstore.replication.Replication;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where the replication topic is, shared by {@code publish} and {@code replicate}. */
final class KafkaOptions {
    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "The Kafka brokers to contact first.")
    String bootstrapServers;

    @Option(names = "--topic", required = true, paramLabel = "TOPIC", description = "The replication topic.")
    String topic;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "A Kafka client property passed through as given, e.g. security.protocol=SASL_SSL,"
                    + " sasl.mechanism=PLAIN, sasl.jaas.config=..., ssl.truststore.location=... (repeatable).")
    Map<String, String> properties = new LinkedHashMap<>();

    Replication.Kafka kafka() {
        return new Replication.Kafka(bootstrapServers, topic, properties);
    }
}
