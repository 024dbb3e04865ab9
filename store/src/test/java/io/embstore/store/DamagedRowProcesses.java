package io.embstore.store;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Child JVMs of {@link DamagedRowsTest}.
 *
 * <p>{@code write DIR ROW}: opens the store for writing, prints {@code READY} and rewrites row ROW for ever, until it
 * is killed.
 *
 * <p>{@code read DIR ROW}: opens the store read-only, reads row ROW consistently and prints {@code OK} or
 * {@code ERROR <milliseconds the read took> <message>}.
 */
final class DamagedRowProcesses {
    private DamagedRowProcesses() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[1]);
        long row = Long.parseLong(args[2]);
        if (args[0].equals("write")) {
            try (WritableStore store = EmbeddingStore.openForWriting(dir)) {
                float[] v = new float[store.dim()];
                Arrays.fill(v, 1);
                System.out.println("READY");
                System.out.flush();
                for (int i = 1; ; i++) {
                    // The first and last values change: a torn row differs between them, and the loop's time is the write's.
                    v[0] = i;
                    v[v.length - 1] = i;
                    store.write(row, v);
                }
            }
        }
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            long start = System.nanoTime();
            try {
                store.read(row, new float[store.dim()]);
                System.out.println("OK");
            } catch (StoreException e) {
                System.out.println("ERROR " + (System.nanoTime() - start) / 1_000_000 + " " + e.getMessage());
            }
        }
    }
}
