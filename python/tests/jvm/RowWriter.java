import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The JVM writer of the Python cross-process tests (python/tests/test_cross_process.py).
 *
 * <p>{@code churn DIR MILLIS SEED TORN_FILE}: for MILLIS ms (and then, up to 60 s more, until TORN_FILE exists: a
 * reader creates it once it has seen a relaxed read torn, so that the test can show the seqlock is what protects the
 * consistent reads even on a machine too busy to run writer and readers at once) rewrites random rows among the
 * store's first rows, each filled with
 * one value (dim copies of a write counter, so a row mixing two writes is detectable), publishes a new generation
 * every 64 writes, and every 20 ms appends row "appended-K" holding dim copies of BASE + K, flushed (BASE is 1e6 in
 * an f32 store, 1024 in an f16 one: values stay exact integers in the store's type). Prints
 * {@code READY} once open, then {@code DONE writes=W appends=A rows=R generation=G}.
 *
 * <p>{@code hammer DIR ROW}: prints {@code READY} and rewrites row ROW for ever (until it is killed).
 *
 * <p>{@code reopen DIR}: opens the store for writing and closes it (a writer's open records rows left half-written).
 */
public final class RowWriter {
    public static void main(String[] args) {
        Path dir = Path.of(args[1]);
        try (WritableStore store = EmbeddingStore.openForWriting(dir)) {
            switch (args[0]) {
                case "churn" -> churn(store, Long.parseLong(args[2]), Long.parseLong(args[3]), Path.of(args[4]));
                case "hammer" -> hammer(store, Long.parseLong(args[2]));
                case "reopen" -> System.out.println("DONE");
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        }
    }

    private static void churn(WritableStore store, long millis, long seed, Path tornFile) {
        long initialRows = store.rows();
        float[] row = new float[store.dim()];
        SplittableRandom random = new SplittableRandom(seed);
        System.out.println("READY");
        System.out.flush();
        long deadline = System.nanoTime() + millis * 1_000_000L;
        long lastChance = deadline + 60_000_000_000L;
        boolean tornSeen = false;
        long nextAppend = System.nanoTime();
        long writes = 0;
        int appends = 0;
        boolean half = store.dtype() == Dtype.F16;
        float appendBase = half ? 1024f : 1e6f;
        long distinctValues = half ? 2048 : 16_000_000;
        while (System.nanoTime() < deadline || (!tornSeen && System.nanoTime() < lastChance)) {
            writes++;
            Arrays.fill(row, (float) (writes % distinctValues));
            store.write(random.nextLong(initialRows), row);
            if (writes % 64 == 0) {
                store.publish();
                tornSeen = java.nio.file.Files.exists(tornFile);
            }
            if (System.nanoTime() - nextAppend >= 0) {
                nextAppend += 20_000_000L;
                Arrays.fill(row, appendBase + appends);
                store.append("appended-" + appends, row);
                appends++;
                store.flush();
            }
        }
        store.flush();
        System.out.println("DONE writes=" + writes + " appends=" + appends + " rows=" + store.rows()
                + " generation=" + store.generation());
    }

    private static void hammer(WritableStore store, long rowId) {
        float[] row = new float[store.dim()];
        System.out.println("READY");
        System.out.flush();
        for (int i = 1; ; i++) {
            Arrays.fill(row, i);
            store.write(rowId, row);
        }
    }
}
