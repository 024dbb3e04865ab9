package io.embstore.store;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;

/**
 * Child JVM of {@link MultiProcessConsistencyTest}: the one writer. It opens the store for writing, prints
 * {@code READY pid=P} and then rewrites random rows until its standard input is closed (or a safety limit passes),
 * every row always {@code dim} copies of one value that no earlier write used. Now and then it publishes, appends a
 * word {@code new-K} (row {@code initialRows + K}) with the same all-equal rule, and flushes. On exit it prints
 * {@code writes=W appends=A publishes=P flushes=F generation=G}.
 *
 * <p>Arguments: store directory, seed, safety limit in milliseconds.
 */
final class StoreWriterProcess {
    static final String APPENDED_PREFIX = "new-";

    private StoreWriterProcess() {
    }

    /**
     * The value of the {@code counter}-th write: distinct for consecutive writes in both dtypes (for f16, distinct
     * finite half-precision bit patterns, cycling after about 31,000 writes).
     */
    static float valueOf(long counter, Dtype dtype) {
        if (dtype == Dtype.F16) {
            return Float.float16ToFloat((short) (1 + Math.floorMod(counter, 0x7bfe)));
        }
        return (float) Math.floorMod(counter, 1L << 24);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long limitNanos = Long.parseLong(args[2]) * 1_000_000L;
        SplittableRandom random = new SplittableRandom(seed);
        CountDownLatch stop = new CountDownLatch(1);
        Thread stdinWatcher = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII))) {
                while (in.readLine() != null) {
                    // The parent closes stdin to stop the writer; any line is ignored.
                }
            } catch (Exception ignored) {
                // A broken pipe means the parent is gone: stop as well.
            }
            stop.countDown();
        }, "stdin-watcher");
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();

        long writes = 0;
        long appends = 0;
        long publishes = 0;
        long flushes = 0;
        long generation;
        try (WritableStore store = EmbeddingStore.openForWriting(dir)) {
            long initialRows = store.rows();
            float[] row = new float[store.dim()];
            System.out.println("READY pid=" + ProcessHandle.current().pid() + " rows=" + initialRows);
            System.out.flush();
            long deadline = System.nanoTime() + limitNanos;
            long counter = 1;
            while (stop.getCount() > 0 && System.nanoTime() < deadline) {
                for (int i = 0; i < 512; i++) {
                    java.util.Arrays.fill(row, valueOf(counter++, store.dtype()));
                    store.write(random.nextLong(store.rows()), row);
                    writes++;
                }
                store.publish();
                publishes++;
                if (publishes % 4 == 0) {
                    java.util.Arrays.fill(row, valueOf(counter++, store.dtype()));
                    long r = store.append(APPENDED_PREFIX + appends, row);
                    if (r != initialRows + appends) {
                        throw new AssertionError("append returned row " + r + ", expected " + (initialRows + appends));
                    }
                    appends++;
                    if (appends % 64 == 0) {
                        store.flush();
                        flushes++;
                    }
                }
            }
            generation = store.generation();
        }
        System.out.println("writes=" + writes + " appends=" + appends + " publishes=" + publishes + " flushes=" + flushes
                + " generation=" + generation);
        System.out.flush();
    }
}
