package io.embstore.replication;

import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A single-node KRaft Kafka (combined broker and controller) inside this JVM, on loopback: the tests' broker, and
 * {@code scripts/local-kafka}'s (run as a main: prints {@code bootstrap-servers HOST:PORT} when ready, stops on
 * SIGTERM). Small: one partition replica, no fsync waits, little memory.
 */
public final class LocalKafka implements AutoCloseable {
    private final KafkaClusterTestKit cluster;

    private LocalKafka(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    public static LocalKafka start() throws Exception {
        // The test kit picks the listeners' ports itself (free ports); it does not take a given one.
        TestKitNodes nodes = new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1)
                .setNumControllerNodes(1).build();
        KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(nodes)
                .setConfigProp("num.network.threads", "1")
                .setConfigProp("num.io.threads", "2")
                .setConfigProp("log.cleaner.dedupe.buffer.size", Integer.toString(2 << 20))
                .setConfigProp("log.cleaner.threads", "1")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .build();
        try {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new LocalKafka(cluster);
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.err.println("local-kafka: no arguments expected (the port is chosen free and printed)");
            System.exit(2);
        }
        // The test kit prints its formatting lines on System.out: they go to stderr, so that stdout carries the one
        // ready line a script waits for.
        java.io.PrintStream stdout = System.out;
        System.setOut(System.err);
        LocalKafka kafka = start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                kafka.close();
            } catch (Exception e) {
                System.err.println("local-kafka: stopping: " + e);
            }
        }));
        stdout.println("bootstrap-servers " + kafka.bootstrapServers().replace("localhost", "127.0.0.1"));
        stdout.flush();
        Thread.currentThread().join();
    }
}
