package io.embstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.Seeds;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the server refuses and how: every refusal is a JSON error with the documented status and kind and a message
 * naming the problem, and none of them reaches the catch-all 500.
 */
class ServerRefusalsTest {
    @TempDir
    static Path tmp;
    static Path table;
    static EmbeddingServer server;
    static ApiClient client;

    @BeforeAll
    static void start() {
        table = TestTables.create(tmp.resolve("glove"), 20, 3, Seeds.seed("ServerRefusalsTest"));
        server = EmbeddingServer.builder().table("glove", table).port(0).maxBatch(5).maxBodyBytes(1000)
                .readTimeout(Duration.ofSeconds(5)).build().start();
        client = new ApiClient(server.port());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            // None of the hostile requests of this class reached the catch-all.
            String metrics = new String(client.get("/metrics").body(), StandardCharsets.UTF_8);
            server.close();
            assertEquals(-1, EmbeddingServerTest.metric(metrics, "embstore_errors_total{kind=\"internal\"}"), metrics);
        }
    }

    static String[] refused(HttpResponse<byte[]> res, int status, String kind) {
        String[] error = ApiClient.error(status, res.body());
        assertEquals(status, res.statusCode());
        assertEquals(kind, error[0], error[1]);
        assertEquals("application/json", res.headers().firstValue("Content-Type").orElseThrow());
        return error;
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "`{\"words\":[\"a\"]} x`                | trailing data after the JSON object at byte 17",
            "`{\"words\":[\"a\"]}{}`                | trailing data",
            "`{\"words\":[\"a\"],\"words\":[\"b\"]}` | Duplicate field 'words'",
            "`{\"ids\":[1.5]}`                      | ids[0] must be an integer",
            "`{\"ids\":[1e2]}`                      | ids[0] must be an integer",
            "`{\"ids\":[0, -0.0]}`                  | ids[1] must be an integer",
            "`{\"ids\":[99999999999999999999]}`     | ids[0] = 99999999999999999999 is out of range",
            "`{\"ids\":[20]}`                       | ids[0] = 20 is out of range: table 'glove' has 20 rows",
            "`{\"ids\":[3, -1]}`                    | ids[1] = -1 is out of range",
            "`{\"ids\":\"1\"}`                      | \"ids\" must be an array of integers, found a string",
            "`{\"ids\":[\"1\"]}`                    | ids[0] must be an integer",
            "`{\"words\":[1]}`                      | words[0] must be a string, found an integer",
            "`{\"words\":[null]}`                   | words[0] must be a string, found null",
            "`{\"words\":[[\"a\"]]}`                | words[0] must be a string, found an array",
            "`{\"words\":{}}`                       | \"words\" must be an array of strings, found an object",
            "`{\"words\":[],\"ids\":[]}`            | exactly one of \"words\" and \"ids\"",
            "`{}`                                   | exactly one of \"words\" and \"ids\"",
            "`{\"word\":\"a\"}`                     | unknown field \"word\"",
            "`[\"a\"]`                              | the body must be a JSON object, found an array",
            "`\"a\"`                                | the body must be a JSON object, found a string",
            "`  `                                   | the body is empty",
            "`{\"words\":[\"a\"`                    | malformed JSON",
            "`{'words':['a']}`                      | malformed JSON at byte 1",
            "`{\"words\":[\"a\",]}`                 | malformed JSON",
            "`{\"ids\":[01]}`                       | malformed JSON",
            "`{\"ids\":[NaN]}`                      | malformed JSON",
    })
    void malformedLookupsAre400NamingTheProblem(String body, String expected) {
        String[] error = refused(client.post("/v1/tables/glove/lookup", body), 400, "bad_request");
        assertTrue(error[1].contains(expected), error[1]);
    }

    @Test
    void bodiesThatAreNotUtf8JsonAre400() {
        byte[][] bodies = {
                {'{', '"', 'w', 'o', 'r', 'd', 's', '"', ':', '[', '"', (byte) 0xff, (byte) 0xfe, '"', ']', '}'},
                {'{', '"', 'w', 'o', 'r', 'd', 's', '"', ':', '[', '"', (byte) 0xc3, '"', ']', '}'},
                {0, 0, 0, 0},
                {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '"', 'x', '"', '}'},
                ("{\"ids\":[" + "9".repeat(500) + "]}").getBytes(StandardCharsets.US_ASCII),
                ("{\"words\":" + "[".repeat(900) + "]}").getBytes(StandardCharsets.US_ASCII),
                ("{\"x\":" + "[".repeat(900) + "]}").getBytes(StandardCharsets.US_ASCII),
        };
        for (byte[] body : bodies) {
            HttpResponse<byte[]> res = client.send(client.request("/v1/tables/glove/lookup")
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
            refused(res, 400, "bad_request");
        }
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "`{\"word\":\"w1\",\"k\":0}`            | \"k\" must be from 1 to 1000, found 0",
            "`{\"word\":\"w1\",\"k\":1001}`         | \"k\" must be from 1 to 1000, found 1001",
            "`{\"word\":\"w1\",\"k\":99999999999}`  | \"k\" must be from 1 to 1000",
            "`{\"word\":\"w1\",\"k\":2.0}`          | \"k\" must be an integer",
            "`{\"word\":\"w1\",\"k\":\"3\"}`        | \"k\" must be an integer",
            "`{\"word\":1}`                         | \"word\" must be a string",
            "`{\"vector\":[1,2]}`                   | \"vector\" has 2 values; table 'glove' has dim 3",
            "`{\"vector\":[0,0,0]}`                 | zero",
            "`{\"vector\":[1,2,1e39]}`              | vector[2] = 1e39 is out of the float32 range",
            "`{\"vector\":[1,\"2\",3]}`             | vector[1] must be a number",
            "`{\"vector\":[1,2,3],\"word\":\"w1\"}` | exactly one of \"word\" and \"vector\"",
            "`{\"k\":3}`                            | exactly one of \"word\" and \"vector\"",
            "`{\"word\":\"w1\",\"exclude\":\"w2\"}` | \"exclude\" must be an array of strings",
            "`{\"word\":\"w1\",\"exclude\":[2]}`    | exclude[0] must be a string",
            "`{\"word\":\"w1\",\"ids\":[2]}`        | unknown field \"ids\"",
    })
    void malformedSimilarQueriesAre400NamingTheProblem(String body, String expected) {
        String[] error = refused(client.post("/v1/tables/glove/similar", body), 400, "bad_request");
        assertTrue(error[1].contains(expected), error[1]);
    }

    @Test
    void anAbsentQueryWordIs404NamingIt() {
        String[] error = refused(client.post("/v1/tables/glove/similar", "{\"word\":\"zebra\"}"), 404, "not_found");
        assertTrue(error[1].contains("'zebra' is not in the vocabulary of table 'glove'"), error[1]);
    }

    @Test
    void aBatchOverTheLimitIs413() {
        String[] error = refused(client.post("/v1/tables/glove/lookup", "{\"ids\":[1,2,3,4,5,6]}"), 413,
                "payload_too_large");
        assertTrue(error[1].contains("more than 5 entries"), error[1]);
        assertEquals(200, client.post("/v1/tables/glove/lookup", "{\"ids\":[1,2,3,4,5]}").statusCode());
    }

    @Test
    void aBodyOverTheLimitIs413FromItsContentLengthBeforeItIsSent() throws Exception {
        try (Socket s = client.socket()) {
            // Only the head is sent: the answer must come from Content-Length alone.
            ApiClient.write(s, "POST /v1/tables/glove/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000\r\n\r\n");
            ApiClient.RawResponse res = ApiClient.read(s);
            assertEquals(413, res.status());
            assertEquals("payload_too_large", ApiClient.error(413, res.body().getBytes(StandardCharsets.UTF_8))[0]);
        }
    }

    @Test
    void aChunkedBodyOverTheLimitIs413WhileItIsRead() throws Exception {
        try (Socket s = client.socket()) {
            StringBuilder req = new StringBuilder("POST /v1/tables/glove/lookup HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            String chunk = "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",";
            req.append("9\r\n{\"words\":\r\n");
            for (int i = 0; i < 40; i++) {
                req.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
            }
            // No last chunk: the server must answer without waiting for the end of the body.
            ApiClient.write(s, req.toString());
            ApiClient.RawResponse res = ApiClient.read(s);
            assertEquals(413, res.status(), res.body());
        }
    }

    @Test
    void wrongMethodsAre405WithAllow() {
        HttpResponse<byte[]> res = client.send(client.request("/v1/tables/glove/lookup").GET().build());
        refused(res, 405, "method_not_allowed");
        assertEquals("POST", res.headers().firstValue("Allow").orElseThrow());
        res = client.send(client.request("/v1/tables").DELETE().build());
        refused(res, 405, "method_not_allowed");
        assertEquals("GET, HEAD", res.headers().firstValue("Allow").orElseThrow());
        res = client.send(client.request("/healthz").method("PUT", HttpRequest.BodyPublishers.ofString("x")).build());
        refused(res, 405, "method_not_allowed");
    }

    @ParameterizedTest
    @CsvSource({"/", "/v1", "/v1/tables/", "/v1/tables/nope", "/v1/tables/glove/", "/v1/tables/glove/lookup/x",
            "/v1/tables/glove/nearest", "/v1/tables/%2e%2e", "/v1/tables/..%2fglove", "/v1/tables/GLOVE",
            "/v1/tables/glove%00"})
    void unknownPathsAndTablesAre404(String path) {
        refused(client.get(path), 404, "not_found");
    }

    @Test
    void pathTraversalNeverReachesAFile() throws Exception {
        for (String path : new String[] {"/v1/tables/../../etc/passwd", "/v1/tables/%2e%2e/%2e%2e/etc/passwd/lookup",
                "/v1/tables/..%2f..%2fetc/lookup", "/v1/tables/" + table.toAbsolutePath() + "/lookup"}) {
            try (Socket s = client.socket()) {
                ApiClient.write(s, "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 9\r\n\r\n{\"ids\":[]}".substring(0, 0) + "Content-Length: 10\r\n\r\n{\"ids\":[]}");
                ApiClient.RawResponse res = ApiClient.read(s);
                assertTrue(res.status() == 404 || res.status() == 400, path + " -> " + res.status() + " " + res.body());
                ApiClient.error(res.status(), res.body().getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void otherMediaTypesAre415AndUnacceptableAnswersAre406() {
        HttpResponse<byte[]> res = client.send(client.request("/v1/tables/glove/lookup")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("{\"ids\":[1]}")).build());
        refused(res, 415, "unsupported_media_type");
        refused(client.post("/v1/tables/glove/lookup", "{\"ids\":[1]}", "text/html"), 406, "not_acceptable");
        refused(client.post("/v1/tables/glove/similar", "{\"word\":\"w1\"}", "application/x-npy"), 406, "not_acceptable");
        assertEquals(200, client.post("/v1/tables/glove/lookup", "{\"ids\":[1]}", "*/*").statusCode());
    }

    @Test
    void lookupByWordOnATableWithoutVocabularyIs400() throws Exception {
        Path ids = TestTables.createIds(tmp.resolve("items"), 5, 2, 1);
        try (EmbeddingServer s = EmbeddingServer.builder().table("items", ids).port(0).build().start()) {
            ApiClient c = new ApiClient(s.port());
            String[] error = refused(c.post("/v1/tables/items/lookup", "{\"words\":[\"a\"]}"), 400, "bad_request");
            assertTrue(error[1].contains("no vocabulary"), error[1]);
            refused(c.post("/v1/tables/items/similar", "{\"word\":\"a\"}"), 400, "bad_request");
        }
    }

    @Test
    void requestsBeyondMaxInFlightAre503WithRetryAfter() throws Exception {
        try (EmbeddingServer s = EmbeddingServer.builder().table("glove", table).port(0).maxInFlight(1).build().start();
             Socket slow = new ApiClient(s.port()).socket()) {
            ApiClient c = new ApiClient(s.port());
            String body = "{\"ids\":[1,2]}";
            // One request in flight: its body has not all arrived.
            ApiClient.write(slow, "POST /v1/tables/glove/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 5));
            HttpResponse<byte[]> refused = awaitStatus(c, 503);
            refused(refused, 503, "overloaded");
            assertEquals("1", refused.headers().firstValue("Retry-After").orElseThrow());
            // Health checks are not held back by the limit.
            assertEquals(200, c.get("/healthz").statusCode());
            ApiClient.write(slow, body.substring(5));
            assertEquals(200, ApiClient.read(slow).status());
            assertEquals(200, c.post("/v1/tables/glove/lookup", body).statusCode());
        }
    }

    /** Polls until a lookup is answered {@code status} (the slow request reaches its handler asynchronously). */
    private static HttpResponse<byte[]> awaitStatus(ApiClient c, int status) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            HttpResponse<byte[]> res = c.post("/v1/tables/glove/lookup", "{\"ids\":[0]}");
            if (res.statusCode() == status || System.nanoTime() > deadline) {
                return res;
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aBodyThatStopsArrivingIsCutOff() throws Exception {
        try (Socket s = client.socket()) {
            ApiClient.write(s, "POST /v1/tables/glove/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100\r\n\r\n{\"ids\":");
            long start = System.nanoTime();
            // The server's read timeout is 5 s here: it answers (or closes the connection) by itself.
            int first = s.getInputStream().read();
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            assertTrue(seconds < 30, "cut off after " + seconds + " s, read " + first);
        }
        assertEquals(200, client.get("/healthz").statusCode());
    }

    @Test
    void connectionsStuckInTheirHeadDoNotHoldOthersBack() throws Exception {
        // Helidon does not time out a request head that stops half way (its idle sweep only closes connections
        // waiting for a request line): such a connection costs a virtual thread and a socket, and nothing else.
        java.util.List<Socket> stuck = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                Socket s = client.socket();
                stuck.add(s);
                ApiClient.write(s, "POST /v1/tables/glove/lookup HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            }
            long start = System.nanoTime();
            assertEquals(200, client.get("/healthz").statusCode());
            assertEquals(200, client.post("/v1/tables/glove/lookup", "{\"ids\":[1]}").statusCode());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos());
        } finally {
            for (Socket s : stuck) {
                s.close();
            }
        }
    }

    @Test
    void aTokenGuardsEverythingButHealthz() throws Exception {
        String token = "0123456789abcdef-secret";
        try (EmbeddingServer s = EmbeddingServer.builder().table("glove", table).port(0).token(token).build().start()) {
            ApiClient anonymous = new ApiClient(s.port());
            assertEquals(200, anonymous.get("/healthz").statusCode());
            for (String path : new String[] {"/metrics", "/v1/tables", "/v1/tables/glove", "/v1/tables/nope", "/x"}) {
                refused(anonymous.get(path), 401, "unauthorized");
            }
            refused(anonymous.post("/v1/tables/glove/lookup", "{\"ids\":[1]}"), 401, "unauthorized");
            ApiClient wrong = new ApiClient(s.port()).token(token + "x");
            refused(wrong.get("/v1/tables"), 401, "unauthorized");
            refused(new ApiClient(s.port()).token(token.substring(1)).get("/v1/tables"), 401, "unauthorized");
            ApiClient right = new ApiClient(s.port()).token(token);
            assertEquals(200, right.get("/v1/tables").statusCode());
            assertEquals(200, right.post("/v1/tables/glove/lookup", "{\"ids\":[1]}").statusCode());
        }
    }

    @Test
    void aNonLoopbackAddressNeedsATokenOrInsecure() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingServer.builder().table("glove", table).host("0.0.0.0").build());
        assertTrue(e.getMessage().contains("--token-file") && e.getMessage().contains("--insecure"), e.getMessage());
        EmbeddingServer.builder().table("glove", table).host("0.0.0.0").insecure(true).build().close();
        EmbeddingServer.builder().table("glove", table).host("0.0.0.0").token("0123456789abcdef").build().close();
        EmbeddingServer.builder().table("glove", table).host("::1").build().close();
    }

    @Test
    void tableNamesAreCheckedAndUnique() {
        for (String bad : new String[] {"", "..", ".x", "a/b", "a b", "x".repeat(65), "é"}) {
            assertThrows(IllegalArgumentException.class, () -> EmbeddingServer.builder().table(bad, table), bad);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingServer.builder().table("a", table).table("a", table));
        assertTrue(e.getMessage().contains("two tables are named 'a'"), e.getMessage());
    }
}
