package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.embstore.testkit.JavaChild;

/**
 * {@code embstore serve ARGS --port 0} in a child JVM, as a user starts it: the port is read from the ready line.
 * {@link #close} kills it (the graceful stop has its own test).
 */
final class ServeProcess implements AutoCloseable {
    private static final Pattern READY =
            Pattern.compile("embstore serve: listening on http://(127\\.0\\.0\\.1|localhost|\\[::1\\]):(\\d+) \\(tables: .*\\)");

    private final JavaChild child;
    private final int port;

    private ServeProcess(JavaChild child, int port) {
        this.child = child;
        this.port = port;
    }

    static ServeProcess start(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("serve"));
        command.addAll(List.of(args));
        command.addAll(List.of("--port", "0"));
        JavaChild child = JavaChild.of(EmbstoreCli.class, command.toArray(String[]::new)).name("embstore serve")
                .jvm("-Xmx256m", "-XX:+UseSerialGC").start();
        try {
            String line = child.awaitLine(l -> l.startsWith("embstore serve: "), Duration.ofSeconds(60));
            Matcher m = READY.matcher(line);
            assertTrue(m.matches(), "not the ready line: " + line + "\n" + child.describe());
            return new ServeProcess(child, Integer.parseInt(m.group(2)));
        } catch (Throwable t) {
            child.close();
            throw t;
        }
    }

    int port() {
        return port;
    }

    boolean alive() {
        return child.process().isAlive();
    }

    /** What the server wrote on standard error so far. */
    String stderr() {
        return child.stderr();
    }

    String describe() {
        return child.describe();
    }

    /** One request on a fresh connection, with a 10 s timeout. */
    RawHttp.Response exchange(String request) throws IOException {
        return RawHttp.exchange(port, request.getBytes(StandardCharsets.UTF_8), false, 10_000);
    }

    @Override
    public void close() throws InterruptedException {
        child.close();
    }
}
