package io.embstore.replication;

import io.embstore.replication.DeltaRecord.Checkpoint;
import io.embstore.replication.DeltaRecord.Row;
import io.embstore.replication.DeltaRecord.Shape;
import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * A replica store and the single writer that applies a topic's records to it. Rows are written in place (or appended,
 * in row order, with their words) as records arrive; when every partition it reads has delivered the marker of a
 * publish, the rows are flushed and only then is {@code replica.state} rewritten with the offsets just past those
 * markers. A replica killed at any point restarts from the last state file and applies some records again: a row
 * record carries the row's whole value, so that is harmless, and the replica converges.
 *
 * <p>Between two markers a reader sees each row whole (the store's row seqlock) but may see some rows of a checkpoint
 * and not yet others: row-consistent, not checkpoint-consistent. {@code replica.state}'s generation is the last
 * checkpoint the replica holds completely.
 */
final class Replica implements AutoCloseable {
    static final String STATE = "replica.state";
    /** How long one poll waits: a following replica checks whether to stop this often. */
    private static final Duration POLL = Duration.ofMillis(200);
    /** A following replica that has read nothing this long asks whether its brokers still answer. */
    private static final Duration PROBE_EVERY = Duration.ofSeconds(2);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Path dir;
    private final Replication.Kafka kafka;
    private final Replication.RowRange range;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private Shape shape;
    private WritableStore store;
    private List<TopicPartition> assigned;
    private final Map<Integer, Long> offsets = new HashMap<>();
    private long generation = -1;
    private long sequence;
    private long applied;
    /** When the brokers last answered (records or a probe), and since when they have not (0: they do). */
    private long heard = System.nanoTime();
    private long silentSince;
    /** Rows that arrived ahead of the rows before them (other partitions are behind): appended when the gap fills. */
    private final TreeMap<Long, Waiting> pending = new TreeMap<>();
    /** Per partition, the latest marker recorded in this run. */
    private final Map<Integer, Checkpoint> latest = new HashMap<>();
    /** Per partition, the markers read since the last recorded state: (sequence, offset after it, the marker). */
    private final Map<Integer, ArrayDeque<Seen>> markers = new HashMap<>();

    private record Seen(long sequence, long next, Checkpoint marker) {
    }

    /** A row waiting for the rows before it, and where it came from: its partition's offset is not recorded past it. */
    private record Waiting(Row row, int partition, long offset) {
    }

    /** Runs between a new replica's store and its first state file: where the tests kill or fail a creation. */
    private final Runnable afterCreate;

    private Replica(Path dir, Replication.Kafka kafka, Replication.RowRange range, KafkaConsumer<byte[], byte[]> c,
                    Runnable afterCreate) {
        this.dir = dir;
        this.kafka = kafka;
        this.range = range;
        this.consumer = c;
        this.afterCreate = afterCreate;
    }

    static Replica open(Path dir, Replication.Kafka kafka, Replication.RowRange range, Runnable afterCreate) {
        Replica r = new Replica(dir, kafka, range, Clients.consumer(kafka), afterCreate);
        try {
            r.openStore();
            return r;
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    private void openStore() {
        Path stateFile = dir.resolve(STATE);
        if (EmbeddingStore.isStore(dir)) {
            Map<String, String> s = StateFile.read(stateFile);
            if (s == null) {
                throw new ReplicationException(dir + " is a store but not a replica (no " + STATE + "): replicate into"
                        + " a new directory");
            }
            if (!kafka.topic().equals(s.get("topic")) || !range.toString().equals(s.get("row_range"))) {
                throw new ReplicationException(dir + " is a replica of topic " + s.get("topic") + " rows " + s.get("row_range")
                        + ", not of topic " + kafka.topic() + " rows " + range + " (" + stateFile + ")");
            }
            shape = new Shape(Dtype.fromLabel(s.get("dtype")), (int) StateFile.number(s, "dim", stateFile),
                    Boolean.parseBoolean(s.get("vocabulary")), (int) StateFile.number(s, "partitions", stateFile),
                    (int) StateFile.number(s, "rows_per_partition", stateFile));
            generation = StateFile.number(s, "generation", stateFile);
            sequence = StateFile.number(s, "sequence", stateFile);
            s.forEach((k, v) -> {
                if (k.startsWith("offset.")) {
                    offsets.put(Integer.parseInt(k.substring(7)), Long.parseLong(v));
                }
            });
            store = EmbeddingStore.openForWriting(dir);
            if (store.dim() != shape.dim() || store.dtype() != shape.dtype()) {
                throw new ReplicationException(dir + ": the store (" + store.dtype().label() + " dim " + store.dim()
                        + ") does not match its " + STATE + " (" + shape.describe() + ")");
            }
        } else if (Files.exists(dir) && !isEmptyDirectory(dir)) {
            throw new ReplicationException(dir + " exists and is not a store: replicate into a new directory");
        }
    }

    private static boolean isEmptyDirectory(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** Learns the topic's shape (a new replica) and assigns the partitions that cover the row range. */
    private boolean assign(boolean once) {
        if (shape == null) {
            Shape s = Publisher.firstShape(kafka);
            if (s == null) {
                if (once) {
                    throw new ReplicationException("topic " + kafka.topic() + " at " + kafka.bootstrapServers()
                            + " holds no records yet: start 'embstore publish' first");
                }
                return false;
            }
            shape = s;
        }
        int first = shape.partitionOf(range.from());
        int last = shape.partitionOf(range.to() == Long.MAX_VALUE ? Long.MAX_VALUE - 1 : range.to() - 1);
        assigned = new ArrayList<>();
        for (int p = first; p <= last; p++) {
            assigned.add(new TopicPartition(kafka.topic(), p));
        }
        consumer.assign(assigned);
        for (TopicPartition tp : assigned) {
            Long o = offsets.get(tp.partition());
            if (o == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, o);
            }
        }
        return true;
    }

    Replication.Applied run(boolean once, BooleanSupplier stop, Consumer<Replication.Applied> report,
                            Consumer<String> notice) {
        try {
            while (!assign(once)) {
                if (stop.getAsBoolean()) {
                    return result();
                }
                Replication.sleep(1000);
            }
            Map<TopicPartition, Long> end = once ? consumer.endOffsets(assigned) : Map.of();
            while (!(once ? reached(end) : stop.getAsBoolean())) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(POLL);
                if (batch.isEmpty()) {
                    if (!once) {
                        probe(notice);
                    }
                    continue;
                }
                answered(notice);
                // Every record of the batch is decoded and checked before the first is applied.
                List<DeltaRecord> decoded = new ArrayList<>(batch.count());
                List<ConsumerRecord<byte[], byte[]>> raw = new ArrayList<>(batch.count());
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    String where = Publisher.where(kafka, r);
                    DeltaRecord d = DeltaRecord.decode(r.key(), r.value(), where);
                    if (!d.shape().equals(shape)) {
                        throw new ReplicationException(where + ": a record for a table of " + d.shape().describe()
                                + ", but this replica holds " + shape.describe() + (store == null ? "" : " (" + dir + ")")
                                + ": nothing applied from it");
                    }
                    decoded.add(d);
                    raw.add(r);
                }
                if (store == null) {
                    create(notice);
                }
                for (int i = 0; i < decoded.size(); i++) {
                    switch (decoded.get(i)) {
                        case Row row -> apply(row, raw.get(i));
                        case Checkpoint c -> markers.computeIfAbsent(raw.get(i).partition(), k -> new ArrayDeque<>())
                                .add(new Seen(c.sequence(), raw.get(i).offset() + 1, c));
                    }
                }
                Replication.Applied done = complete();
                if (done != null) {
                    report.accept(done);
                }
            }
            return result();
        } catch (KafkaException e) {
            throw Clients.failure(kafka, "cannot read", e);
        }
    }

    /**
     * A consumer's poll says nothing while its brokers are down (it reconnects by itself): after {@link #PROBE_EVERY}
     * without records, asks for the end offsets, so that an outage, and its end, is said once to {@code notice}.
     */
    private void probe(Consumer<String> notice) {
        long now = System.nanoTime();
        if (now - heard < PROBE_EVERY.toNanos()) {
            return;
        }
        try {
            consumer.endOffsets(assigned, PROBE_TIMEOUT);
            answered(notice);
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            if (silentSince == 0) {
                silentSince = heard;
                notice.accept("topic " + kafka.topic() + " at " + kafka.bootstrapServers() + ": no answer from the"
                        + " brokers for " + (System.nanoTime() - heard) / 1_000_000_000 + " s; still trying");
            }
        }
    }

    private void answered(Consumer<String> notice) {
        heard = System.nanoTime();
        if (silentSince != 0) {
            notice.accept("topic " + kafka.topic() + " at " + kafka.bootstrapServers() + ": the brokers answer again"
                    + " after " + (heard - silentSince) / 1_000_000_000 + " s");
            silentSince = 0;
        }
    }

    private boolean reached(Map<TopicPartition, Long> end) {
        for (TopicPartition tp : assigned) {
            if (consumer.position(tp) < end.get(tp)) {
                return false;
            }
        }
        return true;
    }

    private Replication.Applied result() {
        return new Replication.Applied(generation, store == null ? 0 : store.rows(), applied, sequence);
    }

    /**
     * Creates the replica store with its first state file, both or neither: built in a temporary sibling and renamed
     * into place (over the empty directory given, if one was), so that a replica killed on the way leaves no store
     * without a state file, which a restart would refuse as "not a replica". What a killed creation left beside it is
     * removed first. The state file from the start: a replica killed before its first checkpoint is still known as one,
     * and starts again from the beginning of its partitions.
     */
    private void create(Consumer<String> notice) {
        Path temp = null;
        try {
            for (Path stale : TempSibling.sweepStale(dir)) {
                notice.accept("removed " + stale + ", left by a replica killed while it was being created");
            }
            temp = TempSibling.name(dir);
            EmbeddingStore.builder(temp).dtype(shape.dtype()).dim(shape.dim()).vocabulary(shape.vocabulary()).rows(0)
                    .create().close();
            afterCreate.run();
            writeState(temp);
            DurableFiles.publishDirectory(temp, dir);
        } catch (IOException | RuntimeException e) {
            // Whatever failed (the builder's StoreException, writeState's ReplicationException on a full disk too),
            // the half-made sibling goes now rather than waiting for a later run's sweep.
            try {
                if (temp != null && Files.exists(temp)) {
                    TempSibling.deleteTree(temp);
                }
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new ReplicationException(dir + ": cannot create the replica: " + e.getMessage(), e);
        }
        store = EmbeddingStore.openForWriting(dir);
    }

    private void apply(Row r, ConsumerRecord<byte[], byte[]> raw) {
        if (!range.contains(r.row())) {
            return; // the last partition of a shard also carries rows past its range
        }
        long local = r.row() - range.from();
        long rows = store.rows();
        if (local < rows) {
            if (shape.vocabulary() && !store.word(local).equals(r.word())) {
                throw new ReplicationException(Publisher.where(kafka, raw) + ": row " + r.row() + " is '" + r.word()
                        + "' in the topic but '" + store.word(local) + "' in " + dir
                        + ": the replica was built from another table");
            }
            store.write(local, r.values());
            applied++;
        } else if (local == rows) {
            append(r);
            // Rows that came ahead of this one (from other partitions) follow it now, in row order.
            while (!pending.isEmpty() && pending.firstKey() <= store.rows()) {
                Row next = pending.pollFirstEntry().getValue().row();
                if (next.row() - range.from() < store.rows()) {
                    store.write(next.row() - range.from(), next.values());
                } else {
                    append(next);
                }
            }
        } else {
            pending.put(local, new Waiting(r, raw.partition(), raw.offset()));
        }
    }

    private void append(Row r) {
        try {
            if (shape.vocabulary()) {
                store.append(r.word(), r.values());
            } else {
                store.appendRow(r.values());
            }
            applied++;
        } catch (IllegalArgumentException e) {
            throw new ReplicationException("topic " + kafka.topic() + ": cannot append row " + r.row() + " to " + dir
                    + ": " + e.getMessage());
        }
    }

    /**
     * If a partition has delivered a marker since the state file was written, and every assigned partition has
     * delivered one at some time, makes the rows durable and records the offsets just past each partition's latest
     * marker. Returns what was recorded, or null. Partitions may be at different publishes: the replica then holds at
     * least the oldest of their latest ones everywhere, and says so (a partition whose latest marker was read before
     * this run counts as the generation recorded then, which is no newer). Markers are told apart by position, not
     * by their sequence number, which a publisher killed before it recorded its state sends again.
     */
    private Replication.Applied complete() {
        boolean news = false;
        for (TopicPartition tp : assigned) {
            ArrayDeque<Seen> seen = markers.get(tp.partition());
            boolean fresh = seen != null && !seen.isEmpty();
            news |= fresh;
            if (!fresh && !latest.containsKey(tp.partition()) && !offsets.containsKey(tp.partition())) {
                return null; // this partition has never delivered a marker: nothing is complete yet
            }
        }
        if (!news) {
            return null;
        }
        long oldestGeneration = Long.MAX_VALUE;
        Checkpoint oldest = null;
        for (TopicPartition tp : assigned) {
            int p = tp.partition();
            ArrayDeque<Seen> seen = markers.get(p);
            if (seen != null && !seen.isEmpty()) {
                Seen last = seen.peekLast();
                seen.clear();
                // Not past a row still waiting in memory: after a restart it must be read again.
                long next = last.next();
                for (Waiting w : pending.values()) {
                    if (w.partition() == p) {
                        next = Math.min(next, w.offset());
                    }
                }
                offsets.put(p, next);
                latest.put(p, last.marker());
            }
            Checkpoint c = latest.get(p);
            long g = c == null ? generation : c.generation();
            if (g < oldestGeneration) {
                oldestGeneration = g;
                oldest = c;
            }
        }
        if (oldest != null) {
            long expected = Math.max(0, Math.min(oldest.rows(), range.to()) - range.from());
            if (store.rows() < expected) {
                throw new ReplicationException("topic " + kafka.topic() + ": the checkpoint marker of generation "
                        + oldest.generation() + " says " + oldest.rows() + " rows, but rows from "
                        + (store.rows() + range.from()) + " on never arrived (" + dir + " keeps the offsets of its last"
                        + " complete checkpoint)");
            }
            sequence = oldest.sequence();
        }
        store.flush();
        generation = oldestGeneration;
        writeState(dir);
        return result();
    }

    private void writeState(Path replica) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("topic", kafka.topic());
        s.put("row_range", range);
        s.put("dtype", shape.dtype().label());
        s.put("dim", shape.dim());
        s.put("vocabulary", shape.vocabulary());
        s.put("partitions", shape.partitions());
        s.put("rows_per_partition", shape.rowsPerPartition());
        s.put("generation", generation);
        s.put("sequence", sequence);
        new TreeMap<>(offsets).forEach((p, o) -> s.put("offset." + p, o));
        StateFile.write(replica.resolve(STATE), "embstore replica state: rows durable up to these offsets", s);
    }

    @Override
    public void close() {
        try {
            consumer.close(java.time.Duration.ofSeconds(5));
        } finally {
            if (store != null) {
                store.close();
            }
        }
    }
}
