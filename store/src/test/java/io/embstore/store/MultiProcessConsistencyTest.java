package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer JVM and two reader JVMs on the same store: readers must never see a torn row, must see the writer's
 * generations move and its appended rows appear after refresh, and a second writer must be refused at once.
 *
 * <p>Randomised: each dtype's seed is printed; replay one with {@code EMBSTORE_SEED=N}.
 */
class MultiProcessConsistencyTest {
    private static final int ROWS = 2000;
    private static final int DIM = 257;
    private static final long READ_MILLIS = 3000;
    private static final int READERS = 2;
    /**
     * Far above zero, so the torn-row count means something. Not a speed check: a reader keeps going past
     * {@link #READ_MILLIS} until it has read this many rows (and seen the writer's generations and appends).
     */
    private static final long MIN_READS = 10_000;
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(60);
    private static final String[] CHILD_JVM = {"-Xmx256m", "-XX:+UseSerialGC"};

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(Dtype.class)
    void readersInOtherProcessesNeverSeeTornRowsAndSeeAppends(Dtype dtype) throws Exception {
        long seed = Seeds.seed("MultiProcessConsistencyTest " + dtype);
        Path dir = tmp.resolve("store-" + dtype.label());
        List<String> words = new ArrayList<>(ROWS);
        for (int i = 0; i < ROWS; i++) {
            words.add("w" + i);
        }
        try (WritableStore created = EmbeddingStore.builder(dir).words(words).dim(DIM).dtype(dtype).init(Init.zeros()).create()) {
            assertEquals(ROWS, created.rows());
        }

        List<JavaChild> children = new ArrayList<>();
        try {
            JavaChild writer = JavaChild.of(StoreWriterProcess.class, dir.toString(), Long.toString(seed),
                    Long.toString(CHILD_TIMEOUT.toMillis())).name("writer").jvm(CHILD_JVM).start();
            children.add(writer);
            String ready = writer.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(30));
            assertEquals("READY pid=" + writer.process().pid() + " rows=" + ROWS, ready, writer.describe());

            long before = System.nanoTime();
            StoreException refused = assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir).close(),
                    "a second writer must be refused while the writer child runs\n" + writer.describe());
            long refusedMillis = (System.nanoTime() - before) / 1_000_000;
            assertTrue(refused.getMessage().contains("pid " + writer.process().pid()),
                    "the refusal must name the writer's pid " + writer.process().pid() + ": " + refused.getMessage());
            // A liveness bound, not a speed check: a writer that waited for the lock instead of refusing would wait
            // until the writer child exits (it runs until told to stop, up to CHILD_TIMEOUT), and then be granted the
            // lock rather than refused. 20 s is far above any refusal on a loaded machine and far below that wait.
            assertTrue(refusedMillis < 20_000, "the refusal must not wait for the lock, took " + refusedMillis + " ms");
            assertTrue(writer.process().isAlive(), "writer died early\n" + writer.describe());

            List<JavaChild> readers = new ArrayList<>();
            for (int i = 0; i < READERS; i++) {
                JavaChild reader = JavaChild.of(StoreReaderProcess.class, dir.toString(),
                        Long.toString(seed + 1 + i), Long.toString(READ_MILLIS), Integer.toString(ROWS),
                        Long.toString(MIN_READS)).name("reader" + i).jvm(CHILD_JVM).start();
                children.add(reader);
                readers.add(reader);
            }
            List<Map<String, Long>> results = new ArrayList<>();
            for (JavaChild reader : readers) {
                reader.awaitExit(CHILD_TIMEOUT);
                String line = reader.awaitLine(l -> l.startsWith("reads="), Duration.ofSeconds(5));
                assertEquals(0, reader.process().exitValue(), "reader failed\n" + reader.describe());
                results.add(parse(line));
            }
            assertTrue(writer.process().isAlive(), "the writer must outlive the readers\n" + writer.describe());
            writer.process().getOutputStream().close();
            writer.awaitExit(CHILD_TIMEOUT);
            assertEquals(0, writer.process().exitValue(), "writer failed\n" + writer.describe());
            Map<String, Long> written = parse(writer.awaitLine(l -> l.startsWith("writes="), Duration.ofSeconds(5)));
            System.out.println("writer: " + written);

            for (int i = 0; i < READERS; i++) {
                Map<String, Long> r = results.get(i);
                String context = "reader" + i + " " + r + "\n" + readers.get(i).describe() + "\nwriter " + written;
                System.out.println("reader" + i + ": " + r);
                assertEquals(0, r.get("torn"), "torn rows seen\n" + context);
                assertEquals(0, r.get("errors"), context);
                assertTrue(r.get("reads") >= MIN_READS, "too few reads\n" + context);
                assertTrue(r.get("generations") > 1, "the generation never moved\n" + context);
                assertTrue(r.get("maxGeneration") > 1 && r.get("maxGeneration") <= written.get("generation"),
                        "generations seen must be the writer's\n" + context);
                assertTrue(r.get("rowsSeen") > ROWS, "appended rows never became visible\n" + context);
                assertTrue(r.get("appendedChecked") > 0, "no appended row was checked\n" + context);
                assertTrue(r.get("rowsSeen") <= ROWS + written.get("appends"), "reader saw rows never appended\n" + context);
            }
            assertTrue(written.get("appends") > 0, "the writer appended nothing: " + written);

            // After the writer closed (and so flushed): every row is whole, every appended word is where it belongs.
            try (EmbeddingStore after = EmbeddingStore.open(dir)) {
                assertEquals(ROWS + written.get("appends"), after.rows());
                float[] row = new float[DIM];
                for (long r = 0; r < after.rows(); r++) {
                    after.read(r, row);
                    assertTrue(StoreWriterProcess.isWhole(row, 0, DIM, dtype),
                            "row " + r + " is not one whole write: " + java.util.Arrays.toString(row));
                    String word = r < ROWS ? "w" + r : StoreWriterProcess.APPENDED_PREFIX + (r - ROWS);
                    assertEquals(word, after.word(r));
                    assertEquals(r, after.rowOf(word));
                }
            }
        } finally {
            for (JavaChild child : children) {
                child.close();
            }
        }
    }

    private static Map<String, Long> parse(String line) {
        Map<String, Long> values = new HashMap<>();
        for (String field : line.strip().split(" ")) {
            int eq = field.indexOf('=');
            values.put(field.substring(0, eq), Long.parseLong(field.substring(eq + 1)));
        }
        return values;
    }
}
