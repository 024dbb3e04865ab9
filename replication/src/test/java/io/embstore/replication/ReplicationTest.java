package io.embstore.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import io.embstore.testkit.SmallTmpfs;
import io.embstore.trainer.SparseTrainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas following a trainer through an embedded broker (one for the class, loopback): bit-equal after the trainer
 * stops, through a SIGKILLed publisher, a SIGKILLed replica and a broker restart; a shard holds exactly its rows; a foreign topic and a
 * table of another shape are refused and leave the replica untouched.
 */
@Timeout(150)
class ReplicationTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static LocalKafka kafka;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = LocalKafka.start();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Replication.Kafka topic(String name) {
        return new Replication.Kafka(kafka.bootstrapServers(), name, Map.of());
    }

    private static Path table(Path dir, int rows, int dim) {
        List<String> words = IntStream.range(0, rows).mapToObj(i -> "w" + i).toList();
        EmbeddingStore.builder(dir).words(words).dim(dim).create().close();
        return dir;
    }

    private static JavaChild child(String name, String... args) throws Exception {
        return JavaChild.of(ReplicationChild.class, args).name(name).jvm("-Xmx128m", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED").start();
    }

    /** Every row of {@code replica} equals row {@code from + i} of {@code source}, bit for bit, word for word. */
    private static void assertSameRows(Path source, Path replica, long from, long to) {
        try (EmbeddingStore s = EmbeddingStore.open(source); EmbeddingStore r = EmbeddingStore.open(replica)) {
            long end = Math.min(to, s.rows());
            assertEquals(end - from, r.rows(), replica + " rows");
            float[] a = new float[s.dim()];
            float[] b = new float[r.dim()];
            for (long i = from; i < end; i++) {
                s.read(i, a);
                r.read(i - from, b);
                for (int j = 0; j < a.length; j++) {
                    assertEquals(Float.floatToRawIntBits(a[j]), Float.floatToRawIntBits(b[j]),
                            replica + " row " + i + " element " + j);
                }
                assertEquals(s.word(i), r.word(i - from), replica + " word of row " + i);
            }
        }
    }

    private static long lastNumber(String line) {
        String[] f = line.split(" ");
        return Long.parseLong(f[1]);
    }

    /**
     * A trainer checkpoints (appending a word each time) while a following publisher and two following replicas run;
     * faults while it does: the publisher is SIGKILLed and restarted, replica B SIGKILLed during apply and restarted,
     * then the broker stops and starts again (same port, same log directories) and stays down until the publisher and
     * both replicas have said the brokers stopped answering (the publisher's sends failed and are retried, the replicas'
     * probes went unanswered), the trainer checkpointing on. After the trainer stops, both replicas are bit-equal to its
     * last checkpoint, and a shard of it holds exactly its rows.
     */
    @Test
    void replicasFollowATrainerThroughKilledPublisherAndReplicaAndABrokerRestart() throws Exception {
        long seed = Seeds.seed("replicasFollowATrainerThroughKilledPublisherAndReplicaAndABrokerRestart");
        Path store = table(tmp.resolve("trainer"), 2000, 16);
        Path stopTraining = tmp.resolve("stop-training");
        String servers = kafka.bootstrapServers();
        Path a = tmp.resolve("replica-a");
        Path b = tmp.resolve("replica-b");
        List<JavaChild> children = new ArrayList<>();
        try {
            JavaChild publisher = child("publisher", "publish", store.toString(), servers, "follow", "fast");
            children.add(publisher);
            publisher.awaitLine(l -> l.startsWith("published"), WAIT);
            JavaChild trainer = child("trainer", "trainer-until", store.toString(), Long.toString(seed),
                    stopTraining.toString());
            children.add(trainer);
            JavaChild replicaA = child("replica-a", "replicate", a.toString(), servers, "follow", "0:", "fast");
            children.add(replicaA);
            JavaChild replicaB = child("replica-b", "replicate", b.toString(), servers, "follow", "0:", "fast");
            children.add(replicaB);
            // The publisher dies (SIGKILL) after a few checkpoints, and replica B while it applies; both restart from
            // their state files.
            for (int i = 0; i < 8; i++) {
                trainer.awaitLine(l -> l.startsWith("checkpoint "), WAIT);
            }
            publisher.kill();
            replicaB.awaitLine(l -> l.startsWith("applied"), WAIT);
            replicaB.kill();
            JavaChild publisher2 = child("publisher-2", "publish", store.toString(), servers, "follow", "fast");
            children.add(publisher2);
            JavaChild replicaB2 = child("replica-b-2", "replicate", b.toString(), servers, "follow", "0:", "fast");
            children.add(replicaB2);
            publisher2.awaitLine(l -> l.startsWith("published"), WAIT);
            replicaB2.awaitLine(l -> l.startsWith("applied"), WAIT);
            kafka.restartBroker(() -> {
                publisher2.awaitLine(l -> l.contains("; trying again in "), WAIT);
                replicaA.awaitLine(l -> l.contains("no answer from the brokers"), WAIT);
                replicaB2.awaitLine(l -> l.contains("no answer from the brokers"), WAIT);
                trainer.awaitLine(l -> l.startsWith("checkpoint "), WAIT);
            });
            replicaA.awaitLine(l -> l.contains("the brokers answer again"), WAIT);
            publisher2.awaitLine(l -> l.startsWith("published"), WAIT);
            Files.createFile(stopTraining);
            long last = lastNumber(trainer.awaitLine(l -> l.startsWith("done"), WAIT));
            assertEquals(0, trainer.awaitExit(WAIT), trainer.describe());
            publisher2.awaitLine(l -> l.startsWith("published " + last + " "), WAIT);
            replicaA.awaitLine(l -> l.startsWith("applied " + last + " "), WAIT);
            replicaB2.awaitLine(l -> l.startsWith("applied " + last + " "), WAIT);
            for (JavaChild c : children) {
                c.kill();
            }
            assertSameRows(store, a, 0, Long.MAX_VALUE);
            assertSameRows(store, b, 0, Long.MAX_VALUE);
            try (EmbeddingStore s = EmbeddingStore.open(store)) {
                assertTrue(s.rows() > 2009, "the trainer appended a word per checkpoint: " + s.rows());
            }
            // A shard: only the partitions that cover rows 700:1500, and exactly those rows.
            Path shard = tmp.resolve("shard");
            Replication.Applied applied = Replication.replicate(shard, topic("follow"), Replication.RowRange.parse("700:1500"),
                    true, () -> false, x -> { }, System.err::println);
            assertEquals(last, applied.generation());
            assertSameRows(store, shard, 700, 1500);
        } finally {
            for (JavaChild c : children) {
                c.close();
            }
        }
    }

    /**
     * A replica SIGKILLed after its store was created but before its first state file: restarted, it becomes the
     * replica (it was refused as "a store but not a replica" before the store was built beside it and renamed into
     * place with its state).
     */
    @Test
    void aReplicaKilledBeforeItsFirstStateFileStartsAgain() throws Exception {
        Path store = table(tmp.resolve("table"), 300, 8);
        Replication.publish(store, topic("halfmade"), 2, false, 0, () -> true, x -> { }, System.err::println);
        Path replica = tmp.resolve("replica");
        JavaChild child = child("replica-killed-after-create", "replicate-stopping-after-create", replica.toString(),
                kafka.bootstrapServers(), "halfmade");
        try {
            child.awaitLine(l -> l.equals("created"), WAIT);
        } finally {
            child.kill();
        }
        Replication.replicate(replica, topic("halfmade"), Replication.RowRange.ALL, true, () -> false, x -> { },
                System.err::println);
        assertSameRows(store, replica, 0, Long.MAX_VALUE);
        try (var listing = Files.list(tmp)) {
            assertEquals(List.of("replica", "table"), listing.map(p -> p.getFileName().toString()).sorted().toList(),
                    "the killed run's temporary removed");
        }
    }

    /**
     * A replica asking for a topic before any publisher made it must not make it: the broker would create it with its
     * default single partition, and a publisher that had just found no topic would send to partitions 1.. that do not
     * exist (this asserted the topic absent and failed before the consumer was told not to create topics).
     */
    @Test
    void aReplicaStartedBeforeThePublisherDoesNotCreateTheTopic() {
        Replication.Kafka early = new Replication.Kafka(kafka.bootstrapServers(), "early", Map.of("max.block.ms", "3000",
                "delivery.timeout.ms", "3000", "request.timeout.ms", "1000"));
        Path replica = tmp.resolve("replica");
        ReplicationException e = assertThrows(ReplicationException.class, () -> Replication.replicate(replica, early,
                Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println));
        assertTrue(e.getMessage().contains("holds no records yet"), e.getMessage());
        try (Admin admin = Clients.admin(early)) {
            assertEquals(0, Clients.partitions(admin, early), "the replica created the topic");
        }
        Path store = table(tmp.resolve("table"), 40, 4);
        Replication.Published p = Replication.publish(store, early, 4, false, 0, () -> true, x -> { },
                System.err::println);
        assertEquals(40, p.rowsSent());
        try (Admin admin = Clients.admin(early)) {
            assertEquals(4, Clients.partitions(admin, early), "the publisher's partitions");
        }
        Replication.replicate(replica, early, Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println);
        assertSameRows(store, replica, 0, Long.MAX_VALUE);
    }

    /**
     * Read one record a poll, the partitions' last markers come in different polls: the replica still ends at the
     * latest checkpoint (it ended at an older one, which it recorded, before a partition's latest marker counted
     * without waiting for a newer one from every other partition).
     */
    @Test
    void aReplicaReadingOneRecordAPollEndsAtTheLatestCheckpoint() throws Exception {
        Path store = table(tmp.resolve("table"), 30, 4);
        Replication.Kafka slow = new Replication.Kafka(kafka.bootstrapServers(), "onebyone", Map.of("max.poll.records",
                "1"));
        Replication.Published last = null;
        for (int i = 0; i < 3; i++) {
            try (var w = EmbeddingStore.openForWriting(store)) {
                w.write(i, new float[] {i, i, i, i});
            }
            last = Replication.publish(store, slow, 3, false, 0, () -> true, x -> { }, System.err::println);
        }
        Path replica = tmp.resolve("replica");
        Replication.Applied applied = Replication.replicate(replica, slow, Replication.RowRange.ALL, true, () -> false,
                x -> { }, System.err::println);
        assertEquals(last.generation(), applied.generation());
        assertSameRows(store, replica, 0, Long.MAX_VALUE);
        Map<String, String> state = StateFile.read(replica.resolve(Replica.STATE));
        assertEquals(Long.toString(last.generation()), state.get("generation"), state.toString());
    }

    /**
     * A checkpoint publishes the store's generation before it writes its record: a publish that looks in between finds
     * the record behind, sends nothing new, and must look again without waiting for the generation to move (it waited,
     * before, so a checkpoint's rows went out only with the next checkpoint). The window is made on disk: the record
     * of the checkpoint before put back in place, then the new one.
     */
    @Test
    void aPublishBetweenACheckpointsGenerationAndItsRecordLooksAgain() throws Exception {
        Path store = table(tmp.resolve("table"), 100, 4);
        Path record = store.resolve("optim.checkpoint");
        try (var w = EmbeddingStore.openForWriting(store);
             SparseTrainer trainer = SparseTrainer.attach(w, SparseTrainer.Options.sgd().learningRate(0.1).build());
             Publisher publisher = Publisher.open(store, topic("window"), 2)) {
            trainer.step(new long[] {1, 2}, new float[8]);
            trainer.checkpoint();
            publisher.publishOnce();
            byte[] before = Files.readAllBytes(record);
            trainer.step(new long[] {5, 6, 7}, new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
            long g = trainer.checkpoint();
            byte[] after = Files.readAllBytes(record);
            Files.write(record, before);
            assertTrue(publisher.hasNews());
            assertTrue(publisher.publishOnce().generation() < g, "the record was behind");
            Files.write(record, after);
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!publisher.hasNews() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertTrue(publisher.hasNews(), "the publisher looks at the record again");
            Replication.Published p = publisher.publishOnce();
            assertEquals(g, p.generation());
            assertEquals(3, p.rowsSent());
        }
    }

    /**
     * A row appended after the trainer's last checkpoint leaves the checkpoint record behind the store's generation
     * until the next checkpoint. A following publisher reports only publishes that sent something, and reads the record
     * again once per generation (before, it looked again and reported "sent 0" twice a second until the next
     * checkpoint: two reports or more here, where one is right).
     */
    @Test
    void aStoreWrittenOutsideACheckpointIsLookedAtAgainLessOftenAndNotReported() throws Exception {
        Path store = table(tmp.resolve("table"), 50, 4);
        try (var w = EmbeddingStore.openForWriting(store)) {
            try (SparseTrainer trainer = SparseTrainer.attach(w, SparseTrainer.Options.sgd().learningRate(0.1).build())) {
                trainer.step(new long[] {1, 2}, new float[8]);
                trainer.checkpoint();
            }
            w.append("outside", new float[] {1, 2, 3, 4});
        }
        List<Replication.Published> reports = new CopyOnWriteArrayList<>();
        long stopAt = System.nanoTime() + Duration.ofMillis(1500).toNanos();
        Replication.publish(store, topic("outside"), 2, true, 50, () -> System.nanoTime() > stopAt, reports::add,
                System.err::println);
        assertEquals(1, reports.size(), "reports: " + reports);
        assertEquals(51, reports.getFirst().rowsSent());
        try (Publisher publisher = Publisher.open(store, topic("outside"), 2)) {
            assertEquals(0, publisher.publishOnce().rowsSent());
            awaitNews(publisher, Duration.ofSeconds(5));
            assertTrue(publisher.hasNews(), "the publisher looks at the record again");
            assertEquals(0, publisher.publishOnce().rowsSent());
            // The next look backs off to 1 s (then 2, 4, 8 s): not twice a second for as long as the record is behind.
            long quietUntil = System.nanoTime() + Duration.ofMillis(900).toNanos();
            while (System.nanoTime() < quietUntil) {
                assertFalse(publisher.hasNews(), "the publisher looked again within 0.9 s at the same generation");
                Thread.sleep(20);
            }
            awaitNews(publisher, Duration.ofSeconds(5));
            assertTrue(publisher.hasNews(), "a checkpoint record written late is still looked for");
            assertEquals(0, publisher.publishOnce().rowsSent());
        }
    }

    private static void awaitNews(Publisher publisher, Duration atMost) throws InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (!publisher.hasNews() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    /**
     * A replica whose first state file cannot be written (the disk, a 4 MB tmpfs, fills up once the store is built
     * beside it) removes the temporary sibling at once, and is created once there is space (before, only an
     * IOException removed the sibling, and this ReplicationException left it for a later run's sweep).
     */
    @Test
    void aReplicaWhoseCreationFailsOnAFullDiskLeavesNothingBehind() throws Exception {
        Path store = table(tmp.resolve("table"), 20, 4);
        Replication.publish(store, topic("diskfull"), 2, false, 0, () -> true, x -> { }, System.err::println);
        try (SmallTmpfs fs = SmallTmpfs.mount(tmp.resolve("fs"), 4)) {
            Path replica = fs.dir().resolve("replica");
            Path ballast = fs.dir().resolve("ballast");
            ReplicationException e = assertThrows(ReplicationException.class, () -> Replication.replicate(replica,
                    topic("diskfull"), Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println,
                    () -> {
                        try {
                            SmallTmpfs.fillUp(ballast);
                        } catch (IOException full) {
                            throw new UncheckedIOException(full);
                        }
                    }));
            assertTrue(e.getMessage().contains(Replica.STATE) && e.getMessage().contains("No space left"),
                    e.getMessage());
            try (var listing = Files.list(fs.dir())) {
                assertEquals(List.of("ballast"), listing.map(p -> p.getFileName().toString()).toList(),
                        "the temporary sibling removed");
            }
            Files.delete(ballast);
            Replication.replicate(replica, topic("diskfull"), Replication.RowRange.ALL, true, () -> false, x -> { },
                    System.err::println);
            assertSameRows(store, replica, 0, Long.MAX_VALUE);
        }
    }

    @Test
    void rowsAppendedAcrossPartitionsAreAppliedInRowOrder() throws Exception {
        long seed = Seeds.seed("rowsAppendedAcrossPartitionsAreAppliedInRowOrder");
        java.util.Random random = new java.util.Random(seed);
        // Bootstrapped empty: one row a partition, so appended rows 0..39 come through 4 partitions, out of order.
        Path store = table(tmp.resolve("empty"), 0, 4);
        Replication.publish(store, topic("appends"), 4, false, 0, () -> true, x -> { }, System.err::println);
        try (var w = EmbeddingStore.openForWriting(store)) {
            for (int i = 0; i < 40; i++) {
                float[] v = new float[4];
                for (int j = 0; j < 4; j++) {
                    v[j] = (float) random.nextGaussian();
                }
                w.append("new" + i, v);
            }
        }
        Replication.publish(store, topic("appends"), 4, false, 0, () -> true, x -> { }, System.err::println);
        Path replica = tmp.resolve("replica");
        Replication.replicate(replica, topic("appends"), Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println);
        assertSameRows(store, replica, 0, Long.MAX_VALUE);
        // Applied again from its state file: nothing changes.
        Replication.replicate(replica, topic("appends"), Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println);
        assertSameRows(store, replica, 0, Long.MAX_VALUE);
    }

    @Test
    void aForeignTopicIsRefusedAndTheReplicaIsNotCreated() {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("foreign", "k".getBytes(), "{\"user\": 42}".getBytes()));
        }
        Path dir = tmp.resolve("replica");
        ReplicationException e = assertThrows(ReplicationException.class, () -> Replication.replicate(dir,
                topic("foreign"), Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println));
        assertTrue(e.getMessage().contains("topic foreign partition 0 offset 0"), e.getMessage());
        assertTrue(e.getMessage().contains("not a record of 'embstore publish'"), e.getMessage());
        assertFalse(Files.exists(dir), "nothing created");
    }

    @Test
    void aRecordForAnotherShapeIsRefusedAndTheReplicaIsUntouched() throws Exception {
        Path small = table(tmp.resolve("dim16"), 50, 16);
        Replication.publish(small, topic("dim16"), 2, false, 0, () -> true, x -> { }, System.err::println);
        Path replica = tmp.resolve("replica");
        Replication.replicate(replica, topic("dim16"), Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println);
        assertSameRows(small, replica, 0, Long.MAX_VALUE);
        byte[] before = Files.readAllBytes(replica.resolve("matrix.npy"));
        String state = Files.readString(replica.resolve(Replica.STATE));
        // Another table's records in the topic this replica follows: a dim-8 table published to it by hand.
        DeltaRecord.Shape other = new DeltaRecord.Shape(io.embstore.store.Dtype.F32, 8, true, 2, 25);
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("dim16", 0, DeltaRecord.key(3),
                    DeltaRecord.encodeRow(other, 3, new float[8], "w3")));
        }
        ReplicationException e = assertThrows(ReplicationException.class, () -> Replication.replicate(replica,
                topic("dim16"), Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println));
        assertTrue(e.getMessage().contains("topic dim16 partition 0 offset"), e.getMessage());
        assertTrue(e.getMessage().contains("dim 8") && e.getMessage().contains("dim 16"), e.getMessage());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(replica.resolve("matrix.npy"))), "matrix untouched");
        assertEquals(state, Files.readString(replica.resolve(Replica.STATE)), "state untouched");
    }
}
