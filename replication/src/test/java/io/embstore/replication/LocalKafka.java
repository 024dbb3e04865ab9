package io.embstore.replication;

import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import kafka.server.BrokerServer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.PreboundSocketFactoryManager;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.ServerSocketFactory;

/**
 * A single-node KRaft Kafka (combined broker and controller) inside this JVM, listening on 127.0.0.1 only: the tests'
 * broker, and {@code scripts/local-kafka}'s (run as a main: prints {@code bootstrap-servers 127.0.0.1:PORT} when
 * ready, stops on SIGTERM). Small: one partition replica, no fsync waits, little memory.
 */
public final class LocalKafka implements AutoCloseable {
    private static final String LOOPBACK = "127.0.0.1";

    private final KafkaClusterTestKit cluster;
    private final String bootstrapServers;

    private LocalKafka(KafkaClusterTestKit cluster, String bootstrapServers) {
        this.cluster = cluster;
        this.bootstrapServers = bootstrapServers;
    }

    /** A broker on a free port. */
    public static LocalKafka start() throws Exception {
        return start(0);
    }

    /** A broker on {@code port} of 127.0.0.1 (0: a free one); the controller takes a free port. */
    public static LocalKafka start(int port) throws Exception {
        return start(port, null);
    }

    /** The same, with its logs under {@code baseDirectory} (null: a temporary directory); deleted on close. */
    public static LocalKafka start(int port, Path baseDirectory) throws Exception {
        TestKitNodes.Builder nodesBuilder = new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1)
                .setNumControllerNodes(1);
        TestKitNodes nodes = (baseDirectory == null ? nodesBuilder : nodesBuilder.setBaseDirectory(baseDirectory))
                .build();
        String broker = nodes.brokerListenerName().value();
        String controller = nodes.controllerListenerName().value();
        KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes)
                // A restarted broker binds the host named here again, on its first port.
                .setConfigProp("listeners", broker + "://" + LOOPBACK + ":0," + controller + "://" + LOOPBACK + ":0")
                .setConfigProp("num.network.threads", "1")
                .setConfigProp("num.io.threads", "2")
                .setConfigProp("log.cleaner.dedupe.buffer.size", Integer.toString(2 << 20))
                .setConfigProp("log.cleaner.threads", "1")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("group.initial.rebalance.delay.ms", "0");
        int node = nodes.brokerNodes().firstKey();
        bindLoopback(builder, node, Map.of(broker, port, controller, 0));
        KafkaClusterTestKit cluster = builder.build();
        try {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            return new LocalKafka(cluster, cluster.bootstrapServers().replace("localhost", LOOPBACK));
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
    }

    /**
     * Binds the node's listeners on 127.0.0.1 at the given ports before the test kit does. The kit pre-binds every
     * listener itself, on all interfaces and on a free port ({@code PreboundSocketFactoryManager} binds
     * {@code new InetSocketAddress(0)} and has no setting for it), and uses a pre-bound socket whatever the
     * {@code listeners} setting says; it takes over one that is already there, so this puts ours in its (private)
     * table. Kafka 4.3.1, the pinned version: a version without that table fails here by name.
     */
    private static void bindLoopback(KafkaClusterTestKit.Builder builder, int node, Map<String, Integer> ports)
            throws Exception {
        Map<Integer, Map<String, ServerSocketChannel>> sockets;
        try {
            Field manager = KafkaClusterTestKit.Builder.class.getDeclaredField("socketFactoryManager");
            manager.setAccessible(true);
            Field table = PreboundSocketFactoryManager.class.getDeclaredField("sockets");
            table.setAccessible(true);
            @SuppressWarnings("unchecked")
            Map<Integer, Map<String, ServerSocketChannel>> t =
                    (Map<Integer, Map<String, ServerSocketChannel>>) table.get(manager.get(builder));
            sockets = t;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this kafka-test-common-runtime has no pre-bound socket table to bind"
                    + " 127.0.0.1 in (written for 4.3.1): " + e, e);
        }
        Map<String, ServerSocketChannel> bound = new HashMap<>();
        try {
            for (Map.Entry<String, Integer> p : ports.entrySet()) {
                bound.put(p.getKey(), ServerSocketFactory.INSTANCE.openServerSocket(p.getKey(),
                        new InetSocketAddress(LOOPBACK, p.getValue()), -1, -1));
            }
        } catch (Exception e) {
            for (ServerSocketChannel c : bound.values()) {
                c.close();
            }
            throw e;
        }
        sockets.put(node, bound);
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * Stops the broker (the controller stays up), runs {@code whileDown}, and starts the broker again on the same port
     * and log directories, as Kafka's own tests restart one; returns when it serves again.
     */
    public void restartBroker(ThrowingRunnable whileDown) throws Exception {
        for (BrokerServer b : cluster.brokers().values()) {
            b.shutdown();
            b.awaitShutdown();
        }
        whileDown.run();
        for (BrokerServer b : cluster.brokers().values()) {
            b.startup();
        }
        cluster.waitForReadyBrokers();
    }

    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }

    /** The port {@code text} names, or -1. */
    private static int port(String text) {
        try {
            int p = Integer.parseInt(text);
            return p >= 1 && p <= 65535 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public static void main(String[] args) throws Exception {
        int port = args.length == 0 ? 0 : args.length == 2 && args[0].equals("--port") ? port(args[1]) : -1;
        if (port < 0) {
            System.err.println("local-kafka: usage: scripts/local-kafka [--port N]   (N from 1 to 65535; default: a"
                    + " free port)");
            System.exit(2);
        }
        // The test kit prints its formatting lines on System.out: they go to stderr, so that stdout carries the one
        // ready line a script waits for.
        java.io.PrintStream stdout = System.out;
        System.setOut(System.err);
        LocalKafka kafka;
        try {
            kafka = start(port);
        } catch (java.net.BindException | org.apache.kafka.common.KafkaException e) {
            System.err.println("local-kafka: cannot listen on " + LOOPBACK + ":" + port + ": " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                kafka.close();
            } catch (Exception e) {
                System.err.println("local-kafka: stopping: " + e);
            }
        }));
        stdout.println("bootstrap-servers " + kafka.bootstrapServers());
        stdout.flush();
        Thread.currentThread().join();
    }
}
