package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
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

        List<Child> children = new ArrayList<>();
        try {
            Child writer = Child.start(tmp, "writer", StoreWriterProcess.class, dir.toString(), Long.toString(seed),
                    Long.toString(CHILD_TIMEOUT.toMillis()));
            children.add(writer);
            String ready = writer.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(30));
            assertEquals("READY pid=" + writer.process.pid() + " rows=" + ROWS, ready, writer.describe());

            long before = System.nanoTime();
            StoreException refused = assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir).close(),
                    "a second writer must be refused while the writer child runs\n" + writer.describe());
            long refusedMillis = (System.nanoTime() - before) / 1_000_000;
            assertTrue(refused.getMessage().contains("pid " + writer.process.pid()),
                    "the refusal must name the writer's pid " + writer.process.pid() + ": " + refused.getMessage());
            // A liveness bound, not a speed check: a writer that waited for the lock instead of refusing would wait
            // until the writer child exits (it runs until told to stop, up to CHILD_TIMEOUT), and then be granted the
            // lock rather than refused. 20 s is far above any refusal on a loaded machine and far below that wait.
            assertTrue(refusedMillis < 20_000, "the refusal must not wait for the lock, took " + refusedMillis + " ms");
            assertTrue(writer.process.isAlive(), "writer died early\n" + writer.describe());

            List<Child> readers = new ArrayList<>();
            for (int i = 0; i < READERS; i++) {
                Child reader = Child.start(tmp, "reader" + i, StoreReaderProcess.class, dir.toString(),
                        Long.toString(seed + 1 + i), Long.toString(READ_MILLIS), Integer.toString(ROWS),
                        Long.toString(MIN_READS));
                children.add(reader);
                readers.add(reader);
            }
            List<Map<String, Long>> results = new ArrayList<>();
            for (Child reader : readers) {
                reader.awaitExit(CHILD_TIMEOUT);
                String line = reader.awaitLine(l -> l.startsWith("reads="), Duration.ofSeconds(5));
                assertEquals(0, reader.process.exitValue(), "reader failed\n" + reader.describe());
                results.add(parse(line));
            }
            assertTrue(writer.process.isAlive(), "the writer must outlive the readers\n" + writer.describe());
            writer.process.getOutputStream().close();
            writer.awaitExit(CHILD_TIMEOUT);
            assertEquals(0, writer.process.exitValue(), "writer failed\n" + writer.describe());
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
                    for (float v : row) {
                        assertEquals(Float.floatToRawIntBits(row[0]), Float.floatToRawIntBits(v), "row " + r + " is not all-equal");
                    }
                    String word = r < ROWS ? "w" + r : StoreWriterProcess.APPENDED_PREFIX + (r - ROWS);
                    assertEquals(word, after.word(r));
                    assertEquals(r, after.rowOf(word));
                }
            }
        } finally {
            for (Child child : children) {
                child.destroy();
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

    /** A child JVM running a main class from the test classpath; stdout is collected line by line, stderr to a file. */
    private static final class Child {
        final String name;
        final Process process;
        final Path stderr;
        final BlockingQueue<String> pending = new LinkedBlockingQueue<>();
        final List<String> stdout = java.util.Collections.synchronizedList(new ArrayList<>());

        private Child(String name, Process process, Path stderr) {
            this.name = name;
            this.process = process;
            this.stderr = stderr;
            Thread drain = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        stdout.add(line);
                        pending.add(line);
                    }
                } catch (IOException ignored) {
                    // The child was destroyed; what it printed so far is kept.
                }
            }, name + "-stdout");
            drain.setDaemon(true);
            drain.start();
        }

        static Child start(Path tmp, String name, Class<?> main, String... args) throws IOException {
            String java = ProcessHandle.current().info().command().orElseThrow(() -> new IllegalStateException("no java command"));
            List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                    "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), main.getName()));
            command.addAll(List.of(args));
            Path stderr = tmp.resolve(name + ".stderr");
            Process process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
            return new Child(name, process, stderr);
        }

        String awaitLine(Predicate<String> wanted, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                String line = left > 0 ? pending.poll(left, TimeUnit.NANOSECONDS) : null;
                if (line == null) {
                    fail(name + ": no matching line within " + timeout + "\n" + describe());
                }
                if (wanted.test(line)) {
                    return line;
                }
            }
        }

        void awaitExit(Duration timeout) throws InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                fail(name + " did not exit within " + timeout + "\n" + describe());
            }
        }

        String describe() {
            String err;
            try {
                err = Files.exists(stderr) ? Files.readString(stderr) : "";
            } catch (IOException e) {
                err = "(cannot read " + stderr + ": " + e + ")";
            }
            String exit = process.isAlive() ? "running" : "exit " + process.exitValue();
            return name + " (pid " + process.pid() + ", " + exit + ")\n  stdout: " + String.join("\n          ", stdout)
                    + "\n  stderr: " + err.strip();
        }

        void destroy() throws InterruptedException {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
