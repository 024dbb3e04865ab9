package io.embstore.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child JVM running a main class from this test's classpath with this JVM's {@code java}: the way multi-process
 * tests get a real second process (a second writer, readers that map the same pages, a process to kill). Standard
 * output is collected line by line as it comes (so a test can wait for a line while the child runs), standard error
 * in full; every wait has a timeout and a failure shows both. {@link #close} kills the child if it still runs.
 *
 * <pre>
 * try (JavaChild c = JavaChild.of(Probe.class, dir.toString()).jvm("-Xmx64m").start()) {
 *     c.awaitLine(l -&gt; l.startsWith("ready"), Duration.ofSeconds(30));
 * }
 * String out = JavaChild.of(Probe.class, dir.toString()).run(Duration.ofSeconds(60)); // fails unless it exits 0
 * </pre>
 */
public final class JavaChild implements AutoCloseable {
    /** How long a drain thread may take to see the end of a stream once the child has exited. */
    private static final long DRAIN_MILLIS = 10_000;

    private final String name;
    private final Process process;
    private final List<String> stdout = Collections.synchronizedList(new ArrayList<>());
    private final BlockingQueue<String> pending = new LinkedBlockingQueue<>();
    private final StringBuffer stderr = new StringBuffer();
    private final Thread stdoutDrain;
    private final Thread stderrDrain;

    private JavaChild(String name, Process process, boolean stderrMerged) {
        this.name = name;
        this.process = process;
        stdoutDrain = drain(process.getInputStream(), name + "-stdout", line -> {
            stdout.add(line);
            pending.add(line);
        });
        stderrDrain = stderrMerged ? null
                : drain(process.getErrorStream(), name + "-stderr", line -> stderr.append(line).append('\n'));
    }

    private interface LineSink {
        void accept(String line);
    }

    private static Thread drain(InputStream stream, String threadName, LineSink sink) {
        return Thread.ofPlatform().daemon().name(threadName).start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // The child was killed: what it printed so far is kept.
            }
        });
    }

    /** A child running {@code main} with {@code args}; {@link Spec#start} starts it. */
    public static Spec of(Class<?> main, String... args) {
        return new Spec(main, List.of(args));
    }

    /** The {@code java} of this JVM (the one running the tests). */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The test classpath (surefire's when it runs the tests, which may give java.class.path as a manifest jar). */
    public static String classpath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** How to start a child: JVM options, a command to run the JVM under, standard error merged or apart. */
    public static final class Spec {
        private final Class<?> main;
        private final List<String> args;
        private String name;
        private List<String> jvmOptions = List.of("-Xmx128m", "-XX:+UseSerialGC");
        private List<String> wrapper = List.of();
        private boolean mergeStderr;

        private Spec(Class<?> main, List<String> args) {
            this.main = main;
            this.args = args;
            this.name = main.getSimpleName();
        }

        /** The name failures give the child (the main class's simple name unless set). */
        public Spec name(String name) {
            this.name = name;
            return this;
        }

        /**
         * The JVM options, replacing the default {@code -Xmx128m -XX:+UseSerialGC} (small and single-threaded: the
         * machine runs several children beside the test). Native access is always enabled (the store maps with FFM);
         * the Vector API module is not added unless given here.
         */
        public Spec jvm(String... options) {
            this.jvmOptions = List.of(options);
            return this;
        }

        /** Runs the JVM under {@code command} (which must exec its remaining arguments), e.g. a shell that sets a ulimit. */
        public Spec wrappedIn(String... command) {
            this.wrapper = List.of(command);
            return this;
        }

        /** Standard error goes into standard output (one stream, in the order written). */
        public Spec mergeStderr() {
            this.mergeStderr = true;
            return this;
        }

        /** The whole command line. */
        public List<String> command() {
            List<String> command = new ArrayList<>(wrapper);
            command.add(java());
            command.add("--enable-native-access=ALL-UNNAMED");
            command.addAll(jvmOptions);
            command.addAll(List.of("-cp", classpath(), main.getName()));
            command.addAll(args);
            return command;
        }

        public JavaChild start() throws IOException {
            Process process = new ProcessBuilder(command()).redirectErrorStream(mergeStderr).start();
            return new JavaChild(name, process, mergeStderr);
        }

        /** Starts the child and waits for it; fails (showing its output) unless it exits 0 within {@code timeout}. */
        public String run(Duration timeout) throws IOException, InterruptedException {
            try (JavaChild child = start()) {
                int status = child.awaitExit(timeout);
                if (status != 0) {
                    fail(name + " failed\n" + child.describe());
                }
                return child.stdout();
            }
        }
    }

    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    /** The next line of standard output; fails when none comes within {@code timeout}. */
    public String awaitLine(Duration timeout) throws InterruptedException {
        return awaitLine(line -> true, timeout);
    }

    /** The next line of standard output that {@code wanted} accepts, skipping others; fails after {@code timeout}. */
    public String awaitLine(Predicate<String> wanted, Duration timeout) throws InterruptedException {
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

    /** Waits for the child to exit and for its output to be read; fails after {@code timeout}. Returns the status. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            fail(name + " did not exit within " + timeout + "\n" + describe());
        }
        joinDrains();
        return process.exitValue();
    }

    private void joinDrains() throws InterruptedException {
        stdoutDrain.join(DRAIN_MILLIS);
        if (stderrDrain != null) {
            stderrDrain.join(DRAIN_MILLIS);
        }
    }

    /** Standard output so far, lines joined with {@code \n}. */
    public String stdout() {
        synchronized (stdout) {
            return String.join("\n", stdout);
        }
    }

    /** The lines of standard output so far. */
    public List<String> stdoutLines() {
        synchronized (stdout) {
            return List.copyOf(stdout);
        }
    }

    /** Standard error so far (empty when merged into standard output). */
    public String stderr() {
        return stderr.toString();
    }

    /** The child's name, pid, state and output, for failure messages. */
    public String describe() {
        String state = process.isAlive() ? "running" : "exit " + process.exitValue();
        return name + " (pid " + process.pid() + ", " + state + ")\n  stdout: " + String.join("\n          ", stdoutLines())
                + "\n  stderr: " + stderr().strip();
    }

    /** Kills the child (SIGKILL: no shutdown hook runs) and waits until it is gone and its output read. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            fail(name + " did not die within 30 s of SIGKILL\n" + describe());
        }
        joinDrains();
    }

    /** Kills the child if it is still running. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
