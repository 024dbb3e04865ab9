package io.embstore.cli;

import io.embstore.server.EmbeddingServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code embstore serve}: the tables over HTTP (docs/SERVER.md), until SIGTERM or SIGINT. */
@Command(name = "serve",
        sortOptions = false,
        description = {
                "Serve tables over HTTP/1.1 and HTTP/2 (cleartext): lookups as JSON or .npy, similar words, table"
                        + " shapes, health and Prometheus metrics (docs/SERVER.md).",
                "",
                "Each table is mapped once and read consistently, and a writer's updates and appended rows are seen"
                        + " as they are published. A table is named by its directory's name, or NAME=PATH. When"
                        + " ready, one line goes to standard output: 'embstore serve: listening on"
                        + " http://HOST:PORT (tables: a, b)'. SIGTERM or SIGINT stops it: requests in flight finish"
                        + " (up to 10 s), the tables are closed, exit status 0."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore serve glove300",
                "  embstore serve words=glove300 ids=item-table --port 9000",
                "  embstore serve glove300 --host 0.0.0.0 --token-file /etc/embstore/token",
                "  curl -s -H 'Content-Type: application/json' -d '{\"words\":[\"king\"]}'"
                        + " http://127.0.0.1:8080/v1/tables/glove300/lookup"})
final class ServeCommand extends BaseCommand {
    /** Helidon's loggers, quieted to warnings: held here, as the logging system keeps loggers only weakly. */
    private static final Logger HELIDON_LOG = Logger.getLogger("io.helidon");
    /**
     * Helidon's HTTP/1 connection logs a client that hangs up in the middle of its request head as a WARNING with a
     * stack trace ("Internal server error"): a hostile or broken client, not the server's trouble.
     */
    private static final Logger HTTP1_LOG = Logger.getLogger("io.helidon.webserver.http1.Http1Connection");
    /**
     * Helidon's connection handler logs a client that hangs up before the server could tell HTTP/1.1 from HTTP/2
     * (a port scanner, a health probe that only connects) as an "unexpected exception" WARNING with a stack trace;
     * those records are dropped, its other warnings kept.
     */
    private static final Logger CONNECTION_LOG = Logger.getLogger("io.helidon.webserver.ConnectionHandler");
    /** Helidon logs a port it cannot bind with two stack traces; the command says it in one line instead. */
    private static final Logger START_LOG = Logger.getLogger("io.helidon.webserver.LoomServer");

    @Parameters(index = "0..*", arity = "1..*", paramLabel = "STORE",
            description = "A store directory to serve, named by its directory name, or NAME=PATH. Names match"
                    + " [A-Za-z0-9][A-Za-z0-9._-]{0,63} and must differ.")
    List<String> stores;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "The address to bind. Default: ${DEFAULT-VALUE}. Anything but a loopback address needs"
                    + " --token-file or --insecure.")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080",
            description = "The port; 0 lets the system choose one (the ready line tells which). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "A file whose first line (trimmed, at least 16 characters) is the bearer token every request"
                    + " but GET /healthz must carry: 'Authorization: Bearer TOKEN', else 401.")
    Path tokenFile;

    @Option(names = "--insecure",
            description = "Allow binding a non-loopback address without a token: anyone who reaches the port reads"
                    + " the tables.")
    boolean insecure;

    @Option(names = "--max-in-flight", paramLabel = "N", defaultValue = "256",
            description = "Most requests handled at once; more are answered 503 with Retry-After: 1. Default: ${DEFAULT-VALUE}.")
    int maxInFlight;

    @Option(names = "--max-body-bytes", paramLabel = "BYTES", defaultValue = "16777216",
            description = "Largest request body; larger ones are answered 413. Default: ${DEFAULT-VALUE} (16 MiB).")
    long maxBodyBytes;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "100000",
            description = "Most words or ids in one lookup (and values in a similar query's arrays); more are"
                    + " answered 413. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        String token = tokenFile == null ? null : readToken(tokenFile);
        if (token == null && !insecure && !isLoopback(host)) {
            throw new UserError(ExitCode.USAGE, "binding " + host + " (not a loopback address) would expose the tables"
                    + " to other machines: give --token-file FILE (a bearer token) or say --insecure");
        }
        EmbeddingServer.Builder builder = EmbeddingServer.builder().host(host).insecure(insecure).token(token);
        try {
            builder.port(port).maxInFlight(maxInFlight).maxBodyBytes(maxBodyBytes).maxBatch(maxBatch);
            for (String store : stores) {
                int eq = store.indexOf('=');
                // NAME=PATH, unless the whole argument is a directory whose name holds an '='.
                if (eq > 0 && !Files.isDirectory(Path.of(store))) {
                    builder.table(store.substring(0, eq), Path.of(store.substring(eq + 1)));
                } else {
                    builder.table(nameOf(Path.of(store)), Path.of(store));
                }
            }
        } catch (IllegalArgumentException e) {
            throw new UserError(ExitCode.USAGE, e.getMessage(), e);
        }
        HELIDON_LOG.setLevel(Level.WARNING);
        HTTP1_LOG.setLevel(Level.SEVERE);
        CONNECTION_LOG.setFilter(ServeCommand::notAHangUpBeforeTheRequest);
        EmbeddingServer server = builder.build();
        CountDownLatch stopped = new CountDownLatch(1);
        try {
            START_LOG.setLevel(Level.OFF);
            server.start();
            START_LOG.setLevel(Level.WARNING);
        } catch (RuntimeException e) {
            server.close();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new UserError(ExitCode.USER_ERROR, cause.getMessage() != null ? cause.getMessage()
                    : "cannot listen on " + host + ":" + port + " (" + cause.getClass().getSimpleName() + ")", e);
        }
        // SIGTERM and SIGINT run the shutdown hooks: this one stops the server gracefully and then ends the JVM with
        // status 0 (a JVM ended by a signal otherwise exits 143 or 130), as a service manager expects of a clean stop.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            out.flush();
            stopped.countDown();
            Runtime.getRuntime().halt(ExitCode.OK);
        }, "embstore-serve-stop"));
        String shownHost = host.contains(":") ? "[" + host + "]" : host;
        out.println("embstore serve: listening on http://" + shownHost + ":" + server.port() + " (tables: "
                + String.join(", ", server.tableNames()) + ")");
        out.flush();
        stopped.await();
        return ExitCode.OK;
    }

    /** A table's default name: its directory's name, which must be a valid table name. */
    /** False for Helidon's record of a connection that ended before its first bytes could be identified. */
    static boolean notAHangUpBeforeTheRequest(LogRecord record) {
        for (Throwable t = record.getThrown(); t != null; t = t.getCause()) {
            // Helidon's DataReader.InsufficientDataAvailableException, by name: the class is internal to Helidon.
            if (t.getClass().getName().endsWith("$InsufficientDataAvailableException")) {
                return false;
            }
        }
        return true;
    }

    private static String nameOf(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        String s = name == null ? "" : name.toString();
        if (!EmbeddingServer.TABLE_NAME.matcher(s).matches()) {
            throw new IllegalArgumentException("the directory name of " + dir + " ('" + s + "') is not a table name"
                    + " ([A-Za-z0-9][A-Za-z0-9._-]{0,63}): name it with NAME=PATH");
        }
        return s;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new UserError(ExitCode.USAGE, "--host " + host + " does not resolve: " + e.getMessage(), e);
        }
    }

    private static String readToken(Path file) {
        List<String> lines;
        try {
            lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new UserError(ExitCode.NOT_FOUND, file + ": the token file does not exist", e);
        } catch (IOException e) {
            throw new UserError(ExitCode.USER_ERROR, file + ": cannot read the token file (" + e.getMessage() + ")", e);
        }
        String token = lines.isEmpty() ? "" : lines.get(0).strip();
        if (token.length() < 16) {
            throw new UserError(ExitCode.USER_ERROR, file + ": the token (its first line) has " + token.length()
                    + " characters; use at least 16, e.g. from 'head -c 24 /dev/urandom | base64'");
        }
        return token;
    }
}
