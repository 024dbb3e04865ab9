package io.embstore.replication;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.trainer.SparseTrainer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The loopback replication benchmark (benchmarks/replication/run): a ROWS x DIM f32 table, a broker in this JVM, a
 * whole-table bootstrap through the topic, then CHECKPOINTS trainer checkpoints of CHANGED distinct rows each, every one
 * published and applied by a replica (--once); against copying the whole matrix file (with fsync), the naive way.
 * Prints one line per measurement.
 */
public final class ReplicationBenchmark {
    private ReplicationBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int rows = Integer.parseInt(args[0]);
        int dim = Integer.parseInt(args[1]);
        int changed = Integer.parseInt(args[2]);
        int checkpoints = Integer.parseInt(args[3]);
        Path tmp = Files.createTempDirectory("embstore-repl-bench");
        try (LocalKafka kafka = LocalKafka.start()) {
            Replication.Kafka topic = new Replication.Kafka(kafka.bootstrapServers(), "bench", Map.of());
            Path store = tmp.resolve("table");
            EmbeddingStore.builder(store).rows(rows).dim(dim).vocabulary(false).create().close();
            Path replica = tmp.resolve("replica");
            long t0 = System.nanoTime();
            Replication.Published p = Replication.publish(store, topic, 4, false, 0, () -> true, x -> { }, System.err::println);
            long t1 = System.nanoTime();
            Replication.replicate(replica, topic, Replication.RowRange.ALL, true, () -> false, x -> { }, System.err::println);
            long t2 = System.nanoTime();
            System.out.printf("bootstrap %d x %d: publish %.2f s (%.0f rows/s), replica apply %.2f s (%.0f rows/s),"
                    + " end to end %.2f s (%.0f rows/s)%n", rows, dim, s(t1 - t0), p.rowsSent() / s(t1 - t0),
                    s(t2 - t1), rows / s(t2 - t1), s(t2 - t0), rows / s(t2 - t0));
            Random random = new Random(1);
            try (WritableStore w = EmbeddingStore.openForWriting(store);
                 SparseTrainer trainer = SparseTrainer.attach(w, SparseTrainer.Options.sgd().learningRate(0.01).build())) {
                for (int c = 0; c < checkpoints; c++) {
                    int[] perm = random.ints(0, rows).distinct().limit(changed).toArray();
                    long s0 = System.nanoTime();
                    for (int from = 0; from < perm.length; from += 4096) {
                        int n = Math.min(4096, perm.length - from);
                        long[] ids = new long[n];
                        float[] grads = new float[n * dim];
                        for (int i = 0; i < n; i++) {
                            ids[i] = perm[from + i];
                        }
                        for (int i = 0; i < grads.length; i++) {
                            grads[i] = random.nextFloat() - 0.5f;
                        }
                        trainer.step(ids, grads);
                    }
                    trainer.checkpoint();
                    long s1 = System.nanoTime();
                    Replication.Published d = Replication.publish(store, topic, 4, false, 0, () -> true, x -> { }, System.err::println);
                    long s2 = System.nanoTime();
                    Replication.Applied a = Replication.replicate(replica, topic, Replication.RowRange.ALL, true,
                            () -> false, x -> { }, System.err::println);
                    long s3 = System.nanoTime();
                    System.out.printf("checkpoint %d: %d rows changed (train+checkpoint %.2f s); publish %.2f s"
                            + " (%.0f rows/s), apply %.2f s; lag checkpoint -> replica durable %.2f s"
                            + " (%.0f rows/s end to end); replica generation %d%n", c, d.rowsSent(), s(s1 - s0),
                            s(s2 - s1), d.rowsSent() / s(s2 - s1), s(s3 - s2), s(s3 - s1),
                            d.rowsSent() / s(s3 - s1), a.generation());
                }
            }
            // The naive alternative: copy the whole matrix after each checkpoint (and make it durable).
            long c0 = System.nanoTime();
            Path copy = tmp.resolve("copy.npy");
            Files.copy(store.resolve("matrix.npy"), copy);
            try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            long c1 = System.nanoTime();
            System.out.printf("naive: copy matrix.npy (%d MB) + fsync %.2f s on this disk (a network copy adds"
                    + " %d MB / link rate)%n", Files.size(copy) >> 20, s(c1 - c0), Files.size(copy) >> 20);
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static double s(long nanos) {
        return nanos / 1e9;
    }
}
