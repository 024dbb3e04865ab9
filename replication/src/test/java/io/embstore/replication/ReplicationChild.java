package io.embstore.replication;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.trainer.SparseTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntPredicate;

/**
 * The child processes of the replication tests: {@code trainer DIR SEED CHECKPOINTS} takes steps and checkpoints and
 * appends a word per checkpoint, printing {@code checkpoint G} each time and {@code done G} at the end
 * ({@code trainer-until DIR SEED STOPFILE}: until the file exists); {@code publish DIR SERVERS TOPIC [fast]} and
 * {@code replicate DIR SERVERS TOPIC RANGE [fast]} follow until killed, printing each publish and each applied
 * checkpoint, and their notices (a broker that stops answering); {@code replicate-stopping-after-create DIR SERVERS
 * TOPIC} stops (prints {@code created} and waits to be killed) between creating a replica and its first state file.
 */
public final class ReplicationChild {
    private ReplicationChild() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "trainer" -> {
                int checkpoints = Integer.parseInt(args[3]);
                train(Path.of(args[1]), Long.parseLong(args[2]), c -> c < checkpoints);
            }
            case "trainer-until" -> {
                Path stop = Path.of(args[3]);
                train(Path.of(args[1]), Long.parseLong(args[2]), c -> c < 3000 && !Files.exists(stop));
            }
            case "bench-trainer" -> benchTrain(Path.of(args[1]), Integer.parseInt(args[2]), Long.parseLong(args[3]),
                    Integer.parseInt(args[4]), Long.parseLong(args[5]));
            case "publish" -> Replication.publish(Path.of(args[1]), kafka(args), 3, true, 50, () -> false,
                    p -> System.out.println("published " + p.generation() + " " + p.rows() + " " + p.rowsSent() + " "
                            + System.currentTimeMillis()),
                    System.out::println);
            case "replicate" -> Replication.replicate(Path.of(args[1]), kafka(args),
                    Replication.RowRange.parse(args[4]), false, () -> false,
                    a -> System.out.println("applied " + a.generation() + " " + a.rows() + " " + a.rowsApplied() + " "
                            + System.currentTimeMillis()),
                    System.out::println);
            case "replicate-stopping-after-create" -> Replication.replicate(Path.of(args[1]), kafka(args),
                    Replication.RowRange.ALL, true, () -> false, a -> { }, System.err::println, () -> {
                        System.out.println("created");
                        System.out.flush();
                        while (true) {
                            LockSupport.park();
                        }
                    });
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    /**
     * SERVERS and TOPIC from {@code args[2..3]}; with a last argument {@code fast}, client timeouts of a second or two,
     * so that a broker restart shows within the test's time.
     */
    private static Replication.Kafka kafka(String[] args) {
        Map<String, String> p = new HashMap<>();
        if (args[args.length - 1].equals("fast")) {
            p.put("request.timeout.ms", "1000");
            p.put("max.block.ms", "2000");
            p.put("delivery.timeout.ms", "2000");
            p.put("default.api.timeout.ms", "2000");
            p.put("reconnect.backoff.max.ms", "200");
        }
        return new Replication.Kafka(args[2], args[3], p);
    }

    private static void train(Path dir, long seed, IntPredicate more) throws InterruptedException {
        Random random = new Random(seed);
        try (WritableStore store = EmbeddingStore.openForWriting(dir);
             SparseTrainer trainer = SparseTrainer.attach(store, SparseTrainer.Options.sgd().learningRate(0.1).build())) {
            int dim = store.dim();
            long base = store.rows();
            long g = 0;
            for (int c = 0; more.test(c); c++) {
                for (int s = 0; s < 5; s++) {
                    long[] ids = new long[32];
                    float[] grads = new float[ids.length * dim];
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = random.nextLong(base);
                    }
                    for (int i = 0; i < grads.length; i++) {
                        grads[i] = (float) random.nextGaussian();
                    }
                    trainer.step(ids, grads);
                }
                float[] v = new float[dim];
                for (int i = 0; i < dim; i++) {
                    v[i] = (float) random.nextGaussian();
                }
                store.append("appended" + c, v);
                g = trainer.checkpoint();
                System.out.println("checkpoint " + g);
                Thread.sleep(40);
            }
            // close() checkpoints once more: the last generation is the checkpoint record's after it.
            trainer.close();
            System.out.println("done " + SparseTrainer.changedSince(store, Long.MAX_VALUE).upTo());
        }
    }

    /**
     * The lag benchmark's trainer: every {@code intervalMillis} (or right after the last one, if training took longer)
     * trains {@code changed} distinct random rows (SGD, batches of 4,096) and checkpoints, {@code count} times,
     * printing {@code checkpoint G EPOCH_MILLIS TRAIN_MILLIS} after each.
     */
    private static void benchTrain(Path dir, int changed, long intervalMillis, int count, long seed)
            throws InterruptedException {
        Random random = new Random(seed);
        try (WritableStore store = EmbeddingStore.openForWriting(dir);
             SparseTrainer trainer = SparseTrainer.attach(store, SparseTrainer.Options.sgd().learningRate(0.01).build())) {
            int dim = store.dim();
            int rows = (int) store.rows();
            long next = System.currentTimeMillis();
            for (int c = 0; c < count; c++) {
                Thread.sleep(Math.max(0, next - System.currentTimeMillis()));
                long start = System.currentTimeMillis();
                next = start + intervalMillis;
                int[] ids = random.ints(0, rows).distinct().limit(changed).toArray();
                float[] grads = new float[4096 * dim];
                for (int from = 0; from < ids.length; from += 4096) {
                    int n = Math.min(4096, ids.length - from);
                    for (int i = 0; i < n * dim; i++) {
                        grads[i] = random.nextFloat() - 0.5f;
                    }
                    trainer.step(java.util.Arrays.copyOfRange(ids, from, from + n),
                            n == 4096 ? grads : java.util.Arrays.copyOf(grads, n * dim));
                }
                long g = trainer.checkpoint();
                long end = System.currentTimeMillis();
                System.out.println("checkpoint " + g + " " + end + " " + (end - start));
            }
        }
        System.out.println("done");
    }
}
