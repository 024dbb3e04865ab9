package io.embstore.replication;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The Kafka clients of a publisher and a replica, configured in one place. */
final class Clients {
    /** How long an admin call or the first contact with the brokers may take before it is an error. */
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private Clients() {
    }

    private static Properties base(Replication.Kafka kafka) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.putAll(kafka.properties());
        return p;
    }

    /**
     * An idempotent producer: retries never duplicate or reorder a partition's records, so a marker is never seen
     * before the rows sent ahead of it. Batches are large because a delta is many small records.
     */
    static KafkaProducer<byte[], byte[]> producer(Replication.Kafka kafka) {
        Properties p = base(kafka);
        p.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(512 << 10));
        p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        p.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(2 * TIMEOUT.toMillis()));
        p.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * A consumer without a group: partitions are assigned by hand and offsets live in the replica's own state file,
     * written after the rows are durable, so that offsets and rows can never disagree.
     */
    static KafkaConsumer<byte[], byte[]> consumer(Replication.Kafka kafka) {
        Properties p = base(kafka);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Only the publisher creates the topic, with its partitions: a replica started first would otherwise have the
        // broker create it with its default partition count.
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        p.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        p.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static Admin admin(Replication.Kafka kafka) {
        Properties p = base(kafka);
        p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT.toMillis()));
        return Admin.create(p);
    }

    /** The topic's partition count, or 0 if there is no such topic. */
    static int partitions(Admin admin, Replication.Kafka kafka) {
        try {
            TopicDescription d = admin.describeTopics(java.util.List.of(kafka.topic())).allTopicNames()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(kafka.topic());
            return d.partitions().size();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return 0;
            }
            throw failure(kafka, "cannot describe the topic", e.getCause());
        } catch (TimeoutException e) {
            throw failure(kafka, "no answer from the brokers in " + TIMEOUT.toSeconds() + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(kafka, "interrupted", e);
        }
    }

    /**
     * Creates the topic compacted: the latest record of every row key (and the latest marker of every partition) is
     * all a new replica needs, so old values may go. Returns false if it exists already (made by someone else since
     * the caller looked).
     */
    static boolean createTopic(Admin admin, Replication.Kafka kafka, int partitions) {
        Map<String, String> configs = new HashMap<>();
        configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
        NewTopic t = new NewTopic(kafka.topic(), java.util.Optional.of(partitions), java.util.Optional.empty())
                .configs(configs);
        try {
            admin.createTopics(java.util.List.of(t)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw failure(kafka, "cannot create the topic", e.getCause());
            }
            return false;
        } catch (TimeoutException e) {
            throw failure(kafka, "no answer from the brokers in " + TIMEOUT.toSeconds() + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(kafka, "interrupted", e);
        }
    }

    static ReplicationException failure(Replication.Kafka kafka, String what, Throwable cause) {
        return new ReplicationException("topic " + kafka.topic() + " at " + kafka.bootstrapServers() + ": " + what
                + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage()), cause,
                unavailable(cause));
    }

    /**
     * Whether {@code cause} says the brokers did not answer (a timeout, a lost connection, a leader not yet elected:
     * Kafka's retriable errors), rather than refusing (authorization, a bad configuration).
     */
    private static boolean unavailable(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof RetriableException || t instanceof TimeoutException) {
                return true;
            }
        }
        return false;
    }
}
