package io.embstore.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs every {@link PeerProbe} subcommand on a tiny table, so that the peer harness's Java side cannot rot, and checks
 * the checksums each prints against rows read back through the store. Timings are printed, never asserted.
 */
class PeerProbeTest {
    static final int ROWS = 300;
    static final int DIM = 13;

    @TempDir
    Path dir;

    private static String run(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = PeerProbe.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                new ByteArrayInputStream(new byte[0]));
        assertEquals(0, code, String.join(" ", args));
        String out = bytes.toString(StandardCharsets.UTF_8).trim();
        assertFalse(out.contains("\n"), "one JSON line: " + out);
        return out;
    }

    private static double field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([-0-9.eE]+|true)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1).equals("true") ? 1 : Double.parseDouble(m.group(1));
    }

    private Path wordStore() {
        return TestStores.wordStore(dir, ROWS, DIM);
    }

    private static double rowSum(EmbeddingStore s, long row) {
        float[] v = new float[s.dim()];
        s.read(row, v);
        double sum = 0;
        for (float x : v) {
            sum += x;
        }
        return sum;
    }

    private Path intFile(String name, int[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        Path file = dir.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    private Path floatFile(String name, float[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        Path file = dir.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void openLooksUpTheWordsRow() {
        Path store = wordStore();
        String out = run("open", "store=" + store, "word=w217");
        assertEquals(217, field(out, "row"));
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            assertEquals(rowSum(s, 217), field(out, "sum"), 1e-9);
        }
        assertTrue(field(out, "open_lookup_ms") > 0, out);
    }

    @Test
    void readerTouchesEveryRowAndReturnsWhenStdinCloses() {
        Path store = wordStore();
        String out = run("reader", "store=" + store);
        double expected = 0;
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            for (long r = 0; r < ROWS; r++) {
                expected += rowSum(s, r);
            }
        }
        assertEquals(ROWS, field(out, "rows"));
        assertEquals(expected, field(out, "sum"), 1e-6);
    }

    @Test
    void gatherReportsTheLastBatch() throws IOException {
        Path store = wordStore();
        int[] ids = new SplittableRandom(5).ints(40, 0, ROWS).toArray();
        Path file = intFile("ids.i32", ids);
        for (String mode : new String[]{"consistent", "relaxed"}) {
            String out = run("gather", "store=" + store, "ids=" + file, "batch=8", "rounds=3", "mode=" + mode);
            double expected = 0;
            try (EmbeddingStore s = EmbeddingStore.open(store)) {
                for (int i = 32; i < 40; i++) {
                    expected += rowSum(s, ids[i]);
                }
            }
            assertEquals(expected, field(out, "last_batch_sum"), 1e-6, mode);
            assertTrue(field(out, "rows_s") > 0, out);
        }
    }

    @Test
    void optimizerTrainsAFreshCopyOfTheCreatedTableAndDeletesIt() throws IOException {
        Path reference = dir.resolve("reference");
        String created = run("create", "store=" + reference, "rows=" + ROWS, "dim=" + DIM, "seed=9");
        assertEquals(ROWS, field(created, "rows"));
        int batch = 16;
        int steps = 2 + 3 * 2;
        int[] ids = new SplittableRandom(7).ints((long) steps * batch, 0, 40).toArray();
        float[] grads = new float[batch * DIM];
        java.util.Arrays.fill(grads, 0.5f);
        Path idFile = intFile("opt.i32", ids);
        Path gradFile = floatFile("grads.f32", grads);
        double expectedUnique = IntStream.range(2, steps)
                .map(s -> (int) IntStream.range(s * batch, (s + 1) * batch).map(i -> ids[i]).distinct().count())
                .average().orElseThrow();
        double before;
        try (EmbeddingStore s = EmbeddingStore.open(reference)) {
            before = rowSum(s, ids[0]);
        }
        for (String forward : new String[]{"false", "true"}) {
            Path work = dir.resolve("work-" + forward);
            String out = run("optimizer", "dir=" + work, "rows=" + ROWS, "dim=" + DIM, "seed=9", "ids=" + idFile,
                    "grads=" + gradFile, "batch=" + batch, "threads=2", "warmup=2", "window=3", "windows=2",
                    "forward=" + forward, "undo=true");
            // The untimed sweep over every row first takes ceil(ROWS / batch) steps.
            assertEquals((ROWS + batch - 1) / batch + steps, field(out, "steps"), out);
            assertEquals(expectedUnique, field(out, "unique_per_step"), 1e-9, out);
            assertTrue(field(out, "unique_rows_s") > 0, out);
            // Positive gradients lower every trained weight: the row sum moved down from the reference's.
            double after = field(out, "row0_sum");
            assertNotEquals(before, after);
            assertTrue(after < before, before + " -> " + after);
            assertFalse(Files.exists(work.resolve("table")), "the trained table is deleted");
        }
    }

    @Test
    void unknownSubcommandsAndBareArgumentsAreUsageErrors() {
        PrintStream devNull = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(2, PeerProbe.run(new String[]{"nope"}, devNull, new ByteArrayInputStream(new byte[0])));
        assertEquals(2, PeerProbe.run(new String[]{"open", "store"}, devNull, new ByteArrayInputStream(new byte[0])));
        assertEquals(2, PeerProbe.run(new String[0], devNull, new ByteArrayInputStream(new byte[0])));
    }
}
