package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.trainer.SparseTrainer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Lazy Adam steps on a table whose weights and optimizer state are larger than memory: unique rows updated per second,
 * run by benchmarks/larger-than-memory/run after the page cache is dropped, where the figure to compare is the disk's
 * random 4 KiB read rate (fio, same run) divided by the 3 rows (p, m, v, 512 bytes each at dim 128) a unique row reads
 * and writes back.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.ColdTrainer \
 *     prepare STORE                   attach Adam to a store made by 'embstore create', then write every byte of
 *                                     optim.m.npy, optim.v.npy and optim.rows.npy (created sparse: reading a hole
 *                                     costs no disk read, so a cold table needs its state on the disk)
 *     train STORE THREADS SECONDS     steps of 4096 uniform random ids (seed printed), undo log off, no checkpoint
 * </pre>
 * {@code train} prints the unique rows of each second and the mean, then halts without closing the trainer: the close
 * would checkpoint (force every dirty row: minutes of random writes that the measurement does not include); the dirty
 * pages reach the disk anyway (the run script syncs before the next run), and with the undo log off there is nothing
 * to roll back at the next attach. {@code -Dembstore.advice=false} runs it with the kernel's default advice.
 */
public final class ColdTrainer {
    static final int IDS = 4096;

    private ColdTrainer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("prepare")) {
            prepare(Path.of(args[1]));
        } else if (args.length == 4 && args[0].equals("train")) {
            train(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        } else {
            System.err.println("usage: ColdTrainer prepare STORE | ColdTrainer train STORE THREADS SECONDS");
            System.exit(2);
        }
    }

    static void prepare(Path dir) throws IOException {
        try (WritableStore store = EmbeddingStore.openForWriting(dir);
             SparseTrainer trainer = SparseTrainer.attach(store, SparseTrainer.Options.adam().build())) {
            System.out.printf("state created for %d x %d%n", store.rows(), store.dim());
        }
        // Adam's moments as a trained table has them (small, v > 0), the counters zero: each file written whole after
        // its 4096-byte header, so that every block is on the disk.
        fill(dir.resolve("optim.m.npy"), 1e-3f);
        fill(dir.resolve("optim.v.npy"), 1e-6f);
        fill(dir.resolve("optim.rows.npy"), 0f);
    }

    private static void fill(Path file, float value) throws IOException {
        long start = System.nanoTime();
        ByteBuffer chunk = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
        while (chunk.hasRemaining()) {
            chunk.putFloat(value);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            long size = ch.size();
            for (long at = 4096; at < size; ) {
                chunk.clear().limit((int) Math.min(chunk.capacity(), size - at));
                at += ch.write(chunk, at);
            }
            ch.force(false);
            System.out.printf("filled %s: %,d bytes in %.1f s%n", file, size, (System.nanoTime() - start) / 1e9);
        }
    }

    static void train(Path dir, int threads, int seconds) throws Exception {
        long seed = System.nanoTime();
        WritableStore store = EmbeddingStore.openForWriting(dir);
        SparseTrainer trainer = SparseTrainer.attach(store,
                SparseTrainer.Options.adam().threads(threads).undoLog(false).build());
        long rows = store.rows();
        int dim = store.dim();
        System.out.printf("store %s: %d x %d, lazy Adam, %d threads, %d s, %d uniform ids a step, undo log off, seed %d%n",
                dir, rows, dim, threads, seconds, IDS, seed);
        SplittableRandom random = new SplittableRandom(seed);
        int[] ids = new int[IDS];
        float[] grads = new float[IDS * dim];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = (float) (random.nextGaussian() * 0.01);
        }
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        long lastReport = start;
        long updated = 0;
        long lastReported = 0;
        long steps = 0;
        while (System.nanoTime() < end) {
            for (int i = 0; i < IDS; i++) {
                ids[i] = (int) random.nextLong(rows);
            }
            trainer.step(ids, grads);
            steps++;
            updated += IDS; // uniform over millions of rows: a repeat within a step is rare (see RESULT)
            long now = System.nanoTime();
            if (now - lastReport >= 1_000_000_000L) {
                System.out.printf("  at %5.1f s: %,.0f rows/s%n", (now - start) / 1e9,
                        (updated - lastReported) / ((now - lastReport) / 1e9));
                lastReported = updated;
                lastReport = now;
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        // ids drawn with repeats: the expected unique share of IDS draws over `rows` rows, 1 - IDS / (2 rows) to first
        // order (0.99992 at 25M rows), so rows updated are the ids within 0.01%.
        System.out.printf("RESULT threads=%d steps=%d unique_rows=%d seconds=%.1f unique_rows_per_s=%.0f%n", threads,
                steps, updated, elapsed, updated / elapsed);
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
