package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.WritableStore;
import io.embstore.testkit.JavaChild;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code embstore serve} as a real process, and its command line. */
class ServeCommandTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Pattern READY = Pattern.compile(
            "embstore serve: listening on http://127\\.0\\.0\\.1:(\\d+) \\(tables: (.*)\\)");
    private static final float[] CAT = {0.1f, -2.5f, 1.0e-7f, 3.4028235e38f, (float) Math.PI};
    private static final String TOKEN = "a-token-of-some-length-42";

    @TempDir
    Path tmp;
    Path store;
    Path tokenFile;
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void createStore() throws Exception {
        store = tmp.resolve("glove");
        try (WritableStore table = EmbeddingStore.builder(store).words(List.of("cat", "dog", "café", "-0"))
                .dim(5).init(Init.normal(3)).create()) {
            table.write(0, CAT);
            table.write(3, new float[] {-0.0f, Float.MIN_VALUE, Float.MIN_NORMAL, -Float.MAX_VALUE, 1f / 3});
        }
        tokenFile = tmp.resolve("token");
        Files.writeString(tokenFile, "  " + TOKEN + "  \nsecond line ignored\n");
    }

    private JavaChild serve(String... extra) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("serve", "--port", "0"));
        args.addAll(List.of(extra));
        return JavaChild.of(EmbstoreCli.class, args.toArray(String[]::new)).name("embstore-serve").start();
    }

    private static int awaitPort(JavaChild child) throws Exception {
        String line = child.awaitLine(l -> l.startsWith("embstore serve:"), Duration.ofSeconds(60));
        Matcher m = READY.matcher(line);
        assertTrue(m.matches(), line);
        return Integer.parseInt(m.group(1));
    }

    private HttpResponse<byte[]> post(int port, String path, String body, String accept, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("Accept", accept)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> get(int port, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void answersAsEmbstoreGetPrintsAndStopsCleanlyOnSigterm() throws Exception {
        try (JavaChild child = serve("words=" + store, "--token-file", tokenFile.toString())) {
            int port = awaitPort(child);
            assertEquals(List.of("embstore serve: listening on http://127.0.0.1:" + port + " (tables: words)"),
                    child.stdoutLines());

            // JSON: the vectors exactly as `embstore get --json` prints them (same text, so the same floats).
            CliRun get = CliRun.of("get", store.toString(), "cat", "-0", "café", "--json");
            assertEquals(ExitCode.OK, get.status(), get::toString);
            HttpResponse<byte[]> res = post(port, "/v1/tables/words/lookup",
                    "{\"words\":[\"cat\",\"nope\",\"-0\",\"café\"]}", "application/json", TOKEN);
            assertEquals(200, res.statusCode(), new String(res.body(), StandardCharsets.UTF_8));
            JsonNode served = MAPPER.readTree(res.body());
            JsonNode printed = get.json().get("vectors");
            assertEquals(printed.get(0).get("vector").toString(), served.get("vectors").get(0).toString());
            assertTrue(served.get("vectors").get(1).isNull());
            assertEquals(printed.get(1).get("vector").toString(), served.get("vectors").get(2).toString());
            assertEquals(printed.get(2).get("vector").toString(), served.get("vectors").get(3).toString());
            assertEquals("[1]", served.get("missing").toString());
            String cat = new String(res.body(), StandardCharsets.UTF_8);
            assertTrue(cat.contains("[0.1,-2.5,1.0E-7,3.4028235E38,3.1415927]"), cat);

            // npy: the same floats, bit for bit.
            HttpResponse<byte[]> npy = post(port, "/v1/tables/words/lookup", "{\"words\":[\"-0\",\"nope\"]}",
                    "application/x-npy", TOKEN);
            assertEquals(200, npy.statusCode());
            assertEquals("1", npy.headers().firstValue("X-Embstore-Missing").orElseThrow());
            ByteBuffer data = ByteBuffer.wrap(npy.body()).order(ByteOrder.LITTLE_ENDIAN);
            int headerLen = data.getShort(8) & 0xffff;
            data.position(10 + headerLen);
            for (JsonNode v : printed.get(1).get("vector")) {
                assertEquals(Float.floatToRawIntBits(Float.parseFloat(v.asText())), Float.floatToRawIntBits(data.getFloat()));
            }
            for (int j = 0; j < 5; j++) {
                assertEquals(0, Float.floatToRawIntBits(data.getFloat()), "a missing word's row is zeros");
            }

            // The token: healthz is open, the rest needs it.
            assertEquals(200, get(port, "/healthz", null).statusCode());
            assertEquals(401, get(port, "/v1/tables", null).statusCode());
            assertEquals(401, get(port, "/v1/tables", TOKEN + "x").statusCode());
            assertEquals(200, get(port, "/v1/tables", TOKEN).statusCode());

            // A request in flight when SIGTERM comes: its body is half sent.
            String body = "{\"words\":[\"dog\"]}";
            try (Socket slow = new Socket()) {
                slow.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
                slow.setSoTimeout(30_000);
                OutputStream out = slow.getOutputStream();
                out.write(("POST /v1/tables/words/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Authorization: Bearer " + TOKEN + "\r\nContent-Length: " + body.length() + "\r\n\r\n"
                        + body.substring(0, 6)).getBytes(StandardCharsets.UTF_8));
                out.flush();
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!new String(get(port, "/metrics", TOKEN).body(), StandardCharsets.UTF_8)
                        .contains("\nembstore_in_flight 2\n")) {
                    assertTrue(System.nanoTime() < deadline, "the slow request never reached its handler");
                    Thread.sleep(10);
                }
                child.process().destroy(); // SIGTERM
                Thread.sleep(300);
                assertTrue(child.process().isAlive(), "the server exited with a request in flight");
                out.write(body.substring(6).getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = slow.getInputStream();
                String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                assertTrue(answer.contains("{\"dim\":5,\"vectors\":[["), answer);
            }
            assertEquals(0, child.awaitExit(Duration.ofSeconds(30)), child::describe);
            assertEquals("", child.stderr(), child::describe);
        }
    }

    @Test
    void aNonLoopbackAddressNeedsATokenFileOrInsecure() {
        CliRun run = CliRun.of("serve", store.toString(), "--host", "0.0.0.0", "--port", "0");
        assertEquals(ExitCode.USAGE, run.status(), run::toString);
        assertTrue(run.err().contains("--token-file") && run.err().contains("--insecure"), run.err());
        assertEquals(1, run.errLines().length, run.err());
    }

    @Test
    void badTablesAndTokensAreOneLineErrors() throws Exception {
        CliRun duplicate = CliRun.of("serve", store.toString(), "glove=" + store, "--port", "0");
        assertEquals(ExitCode.USAGE, duplicate.status(), duplicate::toString);
        assertTrue(duplicate.err().contains("two tables are named 'glove'"), duplicate.err());

        CliRun badName = CliRun.of("serve", "a b=" + store, "--port", "0");
        assertEquals(ExitCode.USAGE, badName.status(), badName::toString);
        assertTrue(badName.err().contains("table name 'a b' must match"), badName.err());

        CliRun missing = CliRun.of("serve", tmp.resolve("absent").toString(), "--port", "0");
        assertEquals(ExitCode.NOT_FOUND, missing.status(), missing::toString);
        assertEquals(1, missing.errLines().length, missing.err());

        Path shortToken = tmp.resolve("short");
        Files.writeString(shortToken, "tooshort\n");
        CliRun weak = CliRun.of("serve", store.toString(), "--port", "0", "--token-file", shortToken.toString());
        assertEquals(ExitCode.USER_ERROR, weak.status(), weak::toString);
        assertTrue(weak.err().contains("at least 16"), weak.err());

        CliRun noFile = CliRun.of("serve", store.toString(), "--port", "0", "--token-file", tmp.resolve("nope").toString());
        assertEquals(ExitCode.NOT_FOUND, noFile.status(), noFile::toString);
    }

    @Test
    void docsNameEveryOptionEndpointAndErrorKind() throws Exception {
        String server = Files.readString(Path.of("..", "docs", "SERVER.md"));
        String openapi = Files.readString(Path.of("..", "docs", "openapi.yaml"));
        picocli.CommandLine serve = new picocli.CommandLine(new ServeCommand());
        for (picocli.CommandLine.Model.OptionSpec o : serve.getCommandSpec().options()) {
            assertTrue(server.contains("`" + o.longestName()), o.longestName() + " in docs/SERVER.md");
        }
        for (String path : new String[] {"/healthz", "/metrics", "/v1/tables", "/v1/tables/{name}",
                "/v1/tables/{name}/lookup", "/v1/tables/{name}/similar"}) {
            assertTrue(openapi.contains("\n  " + path + ":\n"), path + " in docs/openapi.yaml");
            assertTrue(server.contains(path), path + " in docs/SERVER.md");
        }
        for (String kind : new String[] {"bad_request", "unauthorized", "not_found", "method_not_allowed",
                "not_acceptable", "request_timeout", "payload_too_large", "unsupported_media_type", "overloaded",
                "store_error", "internal"}) {
            assertTrue(server.contains("`" + kind + "`"), kind + " in docs/SERVER.md");
            assertTrue(openapi.contains(kind), kind + " in docs/openapi.yaml");
        }
    }

    @Test
    void helpDocumentsEveryOption() {
        CliRun run = CliRun.of("serve", "--help");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        for (String option : new String[] {"--host", "--port", "--token-file", "--insecure", "--max-in-flight",
                "--max-body-bytes", "--max-batch", "NAME=PATH", "SIGTERM"}) {
            assertTrue(run.out().contains(option), option + " in\n" + run.out());
        }
    }
}
