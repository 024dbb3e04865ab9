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

    /**
     * Fills {@code row} with the {@code counter}-th write. f32/f16: every value {@link #valueOf}. q8/q4: a constant row
     * would leave every code 0 (its value is all in the bias), so a torn mix of two writes' codes could not show; the
     * row is {@code c + ((i + c) % 3) / 4} instead, whose codes move with {@code c}, and whose minimum {@code c} (an
     * integer up to 2001, exact in binary16) reads back exactly and so tells {@link #isWhole} which write it was.
     */
    static void fill(float[] row, long counter, Dtype dtype) {
        if (!dtype.quantized()) {
            java.util.Arrays.fill(row, valueOf(counter, dtype));
            return;
        }
        long c = 1 + Math.floorMod(counter, 2000);
        for (int i = 0; i < row.length; i++) {
            row[i] = c + ((i + c) % 3) / 4f;
        }
    }

    /** Whether {@code values[from, from + length)} is the read of one whole write by {@link #fill} (or all equal). */
    static boolean isWhole(float[] values, int from, int length, Dtype dtype) {
        boolean allEqual = true;
        float min = values[from];
        for (int i = from + 1; i < from + length; i++) {
            allEqual &= Float.floatToRawIntBits(values[i]) == Float.floatToRawIntBits(values[from]);
            min = Math.min(min, values[i]);
        }
        if (allEqual || !dtype.quantized()) {
            return allEqual;
        }
        float[] written = new float[length];
        fill(written, (long) min - 1, dtype);
        float[] expected = new float[length];
        QuantizedRows.roundTrip(dtype, written, 0, length, expected);
        return java.util.Arrays.equals(expected, java.util.Arrays.copyOfRange(values, from, from + length));
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
                    fill(row, counter++, store.dtype());
                    store.write(random.nextLong(store.rows()), row);
                    writes++;
                }
                store.publish();
                publishes++;
                if (publishes % 4 == 0) {
                    fill(row, counter++, store.dtype());
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
