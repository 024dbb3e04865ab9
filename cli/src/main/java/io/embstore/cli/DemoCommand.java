package io.embstore.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code embstore demo}: one store, a writer in this JVM and a reader in a second JVM. The reader looks words up,
 * waits while the writer changes a row, appends a word and publishes, then shows it sees both without reopening.
 */
@Command(name = "demo",
        sortOptions = false,
        description = {
                "Show a writer and a reader process sharing one store.",
                "",
                "Creates a sample store (" + DemoCommand.ROWS + " words x " + DemoCommand.DIM + " dims) and starts a"
                        + " second JVM that opens it read-only and looks words up; this JVM then writes a row,"
                        + " appends a word and publishes, and the reader sees both without reopening the store."
                        + " Needs nothing but the embstore jar."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore demo", "  embstore demo --dir demo-store --keep"})
final class DemoCommand extends BaseCommand {
    static final int ROWS = 5000;
    static final int DIM = 50;
    static final long SEED = 42;
    /** Longest the reader process may take from start to finish. */
    private static final long READER_TIMEOUT_SECONDS = 120;
    private static final String INDENT = "      ";

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Create the store at DIR (which must not exist) instead of in a temporary directory.")
    Path dir;

    @Option(names = "--keep", description = "Keep the store afterwards, to look at with 'embstore info' and 'embstore get'.")
    boolean keep;

    /** What the writer puts into row {@code king}: 0.01, 0.02, ..., easy to recognise. */
    static float[] updatedVector(int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (i + 1) / 100f;
        }
        return v;
    }

    /** The vector of the appended word: 1, -1, 1, -1, ... */
    static float[] appendedVector(int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = i % 2 == 0 ? 1f : -1f;
        }
        return v;
    }

    /** The first four values of {@code v}, to 4 decimals, and how many there are. */
    static String prefix(float[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < Math.min(4, v.length); i++) {
            b.append(String.format(Locale.ROOT, "%.4f, ", v[i]));
        }
        return b.append("...] (").append(v.length).append(" values)").toString();
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path cleanup;
        Path storePath;
        if (dir != null) {
            storePath = dir.toAbsolutePath().normalize();
            if (Files.exists(storePath)) {
                throw new UserError(ExitCode.USER_ERROR, storePath + ": already exists; the demo creates a new store,"
                        + " give a path that does not exist yet");
            }
            cleanup = storePath;
        } else {
            cleanup = Files.createTempDirectory("embstore-demo-");
            storePath = cleanup.resolve("store");
        }
        boolean ok = false;
        try {
            ok = run(out, err, storePath);
        } finally {
            if (keep) {
                out.println();
                out.println("The store is kept at " + storePath + "; try:");
                out.println("  embstore info " + storePath);
                out.println("  embstore get " + storePath + " " + DemoVocabulary.KING + " " + DemoVocabulary.NEW_WORD);
            } else {
                deleteRecursively(cleanup);
            }
        }
        out.flush();
        if (!ok) {
            err.println(spec.qualifiedName() + ": FAILED: the reader did not see the writer's changes as expected"
                    + " (its output is above)");
            return ExitCode.INTERNAL_ERROR;
        }
        out.println();
        out.println("OK: the reader saw the new vector at once and the new word after refresh(),"
                + " without reopening the store.");
        return ExitCode.OK;
    }

    private boolean run(PrintWriter out, PrintWriter err, Path storePath) throws IOException, InterruptedException {
        List<String> words = DemoVocabulary.words(ROWS);
        out.println("embstore demo: one store on disk, a writer in this JVM, a reader in another JVM.");
        out.println();
        out.printf("[1/4] Writer (this JVM, pid %d) creates a store: %d words x %d dims, f32, normal(0, 1) seed %d%n",
                ProcessHandle.current().pid(), ROWS, DIM, SEED);
        out.println(INDENT + storePath);
        try (WritableStore writer = EmbeddingStore.builder(storePath)
                .words(words).dim(DIM).init(Init.normal(SEED)).create()) {
            out.println(INDENT + "matrix.npy in it is a plain NumPy file: numpy.load(path, mmap_mode=\"r\") maps the same pages.");
            out.println(INDENT + "The writer keeps it open for writing (one writer at a time; readers need no lock).");
            out.println();
            Process reader = startReader(storePath);
            try {
                return converse(writer, reader, out, err);
            } finally {
                if (reader.isAlive()) {
                    reader.destroyForcibly();
                }
            }
        }
    }

    /** Lets the reader look, changes the store, lets the reader look again; true if the reader saw the changes. */
    private boolean converse(WritableStore writer, Process reader, PrintWriter out, PrintWriter err)
            throws IOException, InterruptedException {
        AtomicBoolean timedOut = new AtomicBoolean();
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                if (!reader.waitFor(READER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    timedOut.set(true);
                    reader.destroyForcibly();
                }
            } catch (InterruptedException e) {
                // The reader finished and the demo no longer needs watching.
            }
        });
        out.printf("[2/4] Reader (a second JVM, pid %d) opens the store read-only and looks words up:%n", reader.pid());
        out.flush();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(reader.getInputStream(), StandardCharsets.UTF_8));
             Writer toReader = new OutputStreamWriter(reader.getOutputStream(), StandardCharsets.UTF_8)) {
            if (!echoUntilReady(lines, out)) {
                return finishReader(reader, watchdog, timedOut, err);
            }
            out.println();
            out.println("[3/4] Writer changes the store while the reader keeps it open:");
            long king = writer.rowOf(DemoVocabulary.KING);
            long before = writer.generation();
            String write = "write(" + king + ", v)";
            String append = "append(\"" + DemoVocabulary.NEW_WORD + "\", w)";
            int width = Math.max(write.length(), append.length()) + 2;
            writer.write(king, updatedVector(DIM));
            out.printf("%s%-" + width + "s%s = %s%n", INDENT, write, DemoVocabulary.KING, prefix(updatedVector(DIM)));
            long row = writer.append(DemoVocabulary.NEW_WORD, appendedVector(DIM));
            out.printf("%s%-" + width + "s-> row %d = %s%n", INDENT, append, row, prefix(appendedVector(DIM)));
            long after = writer.publish();
            out.printf("%s%-" + width + "sgeneration %d -> %d%n", INDENT, "publish()", before, after);
            out.println();
            out.println("[4/4] Reader, still on its first open of the store:");
            out.flush();
            toReader.write("go\n");
            toReader.flush();
            echoRest(lines, out);
        }
        return finishReader(reader, watchdog, timedOut, err);
    }

    /** Echoes the reader's lines until it says it is ready for the writer; false if it ended first. */
    private static boolean echoUntilReady(BufferedReader lines, PrintWriter out) throws IOException {
        for (String line; (line = lines.readLine()) != null; ) {
            if (line.equals(DemoReaderCommand.READY)) {
                return true;
            }
            out.println(INDENT + "reader | " + line);
            out.flush();
        }
        return false;
    }

    private static void echoRest(BufferedReader lines, PrintWriter out) throws IOException {
        for (String line; (line = lines.readLine()) != null; ) {
            out.println(INDENT + "reader | " + line);
            out.flush();
        }
    }

    private boolean finishReader(Process reader, Thread watchdog, AtomicBoolean timedOut, PrintWriter err)
            throws InterruptedException {
        int status = reader.waitFor();
        watchdog.interrupt();
        if (timedOut.get()) {
            err.println(spec.qualifiedName() + ": the reader took more than " + READER_TIMEOUT_SECONDS
                    + " s and was stopped");
            return false;
        }
        if (status != 0) {
            err.println(spec.qualifiedName() + ": the reader exited with status " + status);
            return false;
        }
        return true;
    }

    /** The same java, the same classpath, running the hidden {@code demo-reader} command. */
    private static Process startReader(Path storePath) throws IOException {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"),
                EmbstoreCli.class.getName(), DemoReaderCommand.NAME, storePath.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
