package io.embstore.replication;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.trainer.SparseTrainer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * The child processes of the replication tests: {@code trainer DIR SEED CHECKPOINTS} takes steps and checkpoints and
 * appends a word per checkpoint, printing {@code checkpoint G} each time and {@code done G} at the end;
 * {@code publish DIR SERVERS TOPIC} and {@code replicate DIR SERVERS TOPIC RANGE} follow until killed, printing each
 * publish and each applied checkpoint.
 */
public final class ReplicationChild {
    private ReplicationChild() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "trainer" -> train(Path.of(args[1]), Long.parseLong(args[2]), Integer.parseInt(args[3]));
            case "publish" -> Replication.publish(Path.of(args[1]), new Replication.Kafka(args[2], args[3], Map.of()),
                    3, true, 50, () -> false, p -> System.out.println("published " + p.generation() + " " + p.rows()
                            + " " + p.rowsSent()));
            case "replicate" -> Replication.replicate(Path.of(args[1]), new Replication.Kafka(args[2], args[3], Map.of()),
                    Replication.RowRange.parse(args[4]), false, () -> false,
                    a -> System.out.println("applied " + a.generation() + " " + a.rows() + " " + a.rowsApplied()));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void train(Path dir, long seed, int checkpoints) throws InterruptedException {
        Random random = new Random(seed);
        try (WritableStore store = EmbeddingStore.openForWriting(dir);
             SparseTrainer trainer = SparseTrainer.attach(store, SparseTrainer.Options.sgd().learningRate(0.1).build())) {
            int dim = store.dim();
            long base = store.rows();
            long g = 0;
            for (int c = 0; c < checkpoints; c++) {
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
}
