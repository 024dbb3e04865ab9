package io.embstore.trainer;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The child JVM of {@link CrashRecoveryTest}: attaches to the store (rolling back whatever the last kill left), prints
 * {@code start T HASH}, then trains forever with random sparse steps and checkpoints every few steps. Around each
 * checkpoint it prints {@code pending N T HASH} (the state about to be committed) and {@code done N T HASH} (committed):
 * a kill between the commit and the second line leaves the parent knowing only the pending one, so it accepts either.
 *
 * <p>Arguments: store directory, seed, steps per checkpoint.
 */
public final class TrainingChild {
    private TrainingChild() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        int every = Integer.parseInt(args[2]);
        WritableStore store = EmbeddingStore.openForWriting(dir);
        SparseTrainer trainer = SparseTrainer.attach(store, CrashRecoveryTest.OPTIONS);
        System.out.println("start " + trainer.steps() + " " + Long.toHexString(trainer.stateChecksum()));
        System.out.flush();
        SplittableRandom r = new SplittableRandom(seed ^ trainer.steps());
        int dim = store.dim();
        int rows = (int) store.rows();
        for (long checkpoint = 1; ; checkpoint++) {
            for (int s = 0; s < every; s++) {
                int n = 1 + r.nextInt(128);
                int[] ids = new int[n];
                float[] g = new float[n * dim];
                for (int i = 0; i < n; i++) {
                    // a few hot rows (duplicates), a long tail (rows dirtied for the first time: undo records)
                    ids[i] = r.nextInt(3) == 0 ? r.nextInt(16) : r.nextInt(rows);
                }
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) r.nextGaussian();
                }
                trainer.step(ids, g);
            }
            String state = trainer.steps() + " " + Long.toHexString(trainer.stateChecksum());
            System.out.println("pending " + checkpoint + " " + state);
            System.out.flush();
            trainer.checkpoint();
            System.out.println("done " + checkpoint + " " + state);
            System.out.flush();
        }
    }
}
