package io.embstore.replication;

import io.embstore.replication.DeltaRecord.Shape;
import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.trainer.SparseTrainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.roaringbitmap.RoaringBitmap;

/**
 * Ships a store's changes to a topic. A reader of the store: it reads the trainer's checkpoint record
 * ({@link SparseTrainer#changedSince}) and the rows, and never takes the writer lock. One publish sends the rows the
 * checkpoints since the last publish changed, the rows appended since (with their words), then a checkpoint marker to
 * every partition; only then is the state file {@code publish-TOPIC.state} rewritten. A publisher killed before that
 * sends the same delta again: harmless, a row record carries the row's whole value.
 */
final class Publisher implements AutoCloseable {
    private final EmbeddingStore store;
    private final Replication.Kafka kafka;
    private final Path stateFile;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Shape shape;
    private long generation;
    private long rows;
    private long sequence;
    /** The store's generation when the last publish looked: a publish is due only after it moves. */
    private long seenGeneration = Long.MIN_VALUE;
    /**
     * When to read the checkpoint record again though the generation has not moved (nanoTime; MAX_VALUE: no need). A
     * checkpoint publishes the store's generation before it writes its record, so a publish that looked in between
     * found the record behind the generation, and the checkpoint's rows would otherwise wait for the next one.
     */
    private long lookAgainAt = Long.MAX_VALUE;
    /** How long until that look: 0.5 s after the generation moved, doubling while the record stays behind it. */
    private long lookAgainNanos = FIRST_LOOK_AGAIN_NANOS;
    private static final long FIRST_LOOK_AGAIN_NANOS = 500_000_000L;
    private static final long LAST_LOOK_AGAIN_NANOS = 8_000_000_000L;

    private Publisher(EmbeddingStore store, Replication.Kafka kafka, Path stateFile, KafkaProducer<byte[], byte[]> producer,
                      Shape shape, long generation, long rows, long sequence) {
        this.store = store;
        this.kafka = kafka;
        this.stateFile = stateFile;
        this.producer = producer;
        this.shape = shape;
        this.generation = generation;
        this.rows = rows;
        this.sequence = sequence;
    }

    static Path stateFile(Path store, String topic) {
        return store.resolve("publish-" + topic + ".state");
    }

    static Publisher open(Path dir, Replication.Kafka kafka, int partitions) {
        EmbeddingStore store = EmbeddingStore.open(dir);
        try {
            if (store.dtype() != Dtype.F32 && store.dtype() != Dtype.F16) {
                throw new ReplicationException(dir + " is a " + store.dtype().label() + " store: only f32 and f16"
                        + " tables are published (replicate the table before quantizing it)");
            }
            Path stateFile = stateFile(dir, kafka.topic());
            Map<String, String> state = StateFile.read(stateFile);
            int actual;
            Shape topicShape;
            try (Admin admin = Clients.admin(kafka)) {
                actual = Clients.partitions(admin, kafka);
                if (actual == 0 && Clients.createTopic(admin, kafka, partitions)) {
                    actual = partitions;
                    topicShape = null;
                } else {
                    actual = actual == 0 ? Clients.partitions(admin, kafka) : actual;
                    topicShape = firstShape(kafka);
                }
            }
            int rpp;
            if (topicShape != null) {
                if (topicShape.dtype() != store.dtype() || topicShape.dim() != store.dim()
                        || topicShape.vocabulary() != store.hasVocabulary() || topicShape.partitions() != actual) {
                    throw new ReplicationException("topic " + kafka.topic() + " holds a table of " + topicShape.describe()
                            + ", not " + dir + " (" + store.dtype().label() + " dim " + store.dim() + ", " + actual
                            + " partitions): publish to another topic");
                }
                rpp = topicShape.rowsPerPartition();
            } else {
                // Contiguous row ranges over the table as it is now; rows appended later go to the last partition.
                rpp = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (store.rows() + actual - 1) / actual));
            }
            Shape shape = new Shape(store.dtype(), store.dim(), store.hasVocabulary(), actual, rpp);
            long generation = Long.MIN_VALUE;
            long rows = 0;
            long sequence = 0;
            if (state != null && topicShape != null) {
                generation = StateFile.number(state, "generation", stateFile);
                rows = StateFile.number(state, "rows", stateFile);
                sequence = StateFile.number(state, "sequence", stateFile);
            }
            // A state file without the topic's records (a topic deleted and created again): bootstrap from scratch.
            return new Publisher(store, kafka, stateFile, Clients.producer(kafka), shape, generation, rows, sequence);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** The shape the first record of partition 0 declares, or null if the topic is empty or does not exist. */
    static Shape firstShape(Replication.Kafka kafka) {
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(kafka)) {
            if (c.partitionsFor(kafka.topic()).isEmpty()) {
                return null; // no such topic yet: answered at once, where the end offsets would wait for it
            }
            TopicPartition p0 = new TopicPartition(kafka.topic(), 0);
            c.assign(List.of(p0));
            c.seekToBeginning(List.of(p0));
            long end = c.endOffsets(List.of(p0)).get(p0);
            long deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
            while (c.position(p0) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    return DeltaRecord.decode(r.key(), r.value(), where(kafka, r)).shape();
                }
            }
            return null;
        } catch (KafkaException e) {
            throw Clients.failure(kafka, "cannot read partition 0", e);
        }
    }

    static String where(Replication.Kafka kafka, ConsumerRecord<?, ?> r) {
        return "topic " + kafka.topic() + " partition " + r.partition() + " offset " + r.offset();
    }

    /** Whether the store has moved since the last publish looked (a checkpoint, an append, a flush). */
    boolean hasNews() {
        store.refresh();
        return store.generation() != seenGeneration || System.nanoTime() >= lookAgainAt;
    }

    Replication.Published publishOnce() {
        store.refresh();
        long seen = store.generation();
        SparseTrainer.Changes changes = SparseTrainer.changedSince(store, generation);
        long now = store.rows();
        boolean moved = seen != seenGeneration;
        seenGeneration = seen;
        // Looking again backs off (0.5 s, 1 s, 2 s ... 8 s): rows appended or flushed since the last checkpoint leave
        // the record behind too, until the next checkpoint, and reading it twice a second would be for nothing; a
        // checkpoint whose record comes late (a loaded machine) is still published within seconds of it.
        lookAgainNanos = moved ? FIRST_LOOK_AGAIN_NANOS : Math.min(2 * lookAgainNanos, LAST_LOOK_AGAIN_NANOS);
        lookAgainAt = changes.upTo() < seen ? System.nanoTime() + lookAgainNanos : Long.MAX_VALUE;
        if (sequence > 0 && changes.upTo() == generation && now == rows && changes.rows().isEmpty()) {
            // Nothing new: no marker either, and the same sequence, which tells a following caller not to report it.
            return new Replication.Published(generation, rows, 0, sequence);
        }
        RoaringBitmap send = changes.rows().clone();
        if (now > rows) {
            send.add(rows, now);
        }
        send.remove(now, 1L << 32);
        AtomicReference<Exception> failed = new AtomicReference<>();
        float[] v = new float[store.dim()];
        long sent = 0;
        try {
            for (var it = send.getIntIterator(); it.hasNext(); ) {
                long row = Integer.toUnsignedLong(it.next());
                store.read(row, v);
                String word = store.hasVocabulary() ? store.word(row) : null;
                producer.send(new ProducerRecord<>(kafka.topic(), shape.partitionOf(row), DeltaRecord.key(row),
                        DeltaRecord.encodeRow(shape, row, v, word)), (md, e) -> {
                    if (e != null) {
                        failed.compareAndSet(null, e);
                    }
                });
                sent++;
                if (failed.get() != null) {
                    break;
                }
            }
            long next = sequence + 1;
            // Markers after the rows: the idempotent producer keeps each partition's order, so a replica that has
            // the marker of every partition has every row of this publish.
            byte[] marker = DeltaRecord.encodeCheckpoint(shape, changes.upTo(), now, next);
            for (int p = 0; p < shape.partitions() && failed.get() == null; p++) {
                producer.send(new ProducerRecord<>(kafka.topic(), p, DeltaRecord.key(DeltaRecord.MARKER_KEY), marker),
                        (md, e) -> {
                            if (e != null) {
                                failed.compareAndSet(null, e);
                            }
                        });
            }
            producer.flush();
        } catch (KafkaException e) {
            throw Clients.failure(kafka, "cannot send", e);
        }
        if (failed.get() != null) {
            throw Clients.failure(kafka, "a send failed, nothing recorded as published", failed.get());
        }
        generation = changes.upTo();
        rows = now;
        sequence++;
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("topic", kafka.topic());
        state.put("partitions", shape.partitions());
        state.put("rows_per_partition", shape.rowsPerPartition());
        state.put("generation", generation);
        state.put("rows", rows);
        state.put("sequence", sequence);
        StateFile.write(stateFile, "embstore publisher state: the topic holds everything up to this", state);
        return new Replication.Published(generation, rows, sent, sequence);
    }

    @Override
    public void close() {
        try {
            producer.close(Duration.ofSeconds(10));
        } finally {
            store.close();
        }
    }
}
