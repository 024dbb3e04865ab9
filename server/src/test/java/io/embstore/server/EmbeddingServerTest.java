package io.embstore.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.testkit.Seeds;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every endpoint of a real (in-process) server, its answers compared with what the store itself reads. */
class EmbeddingServerTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int ROWS = 300;
    private static final int DIM = 13;

    @TempDir
    static Path tmp;
    static Path words;
    static Path ids;
    static EmbeddingServer server;
    static ApiClient client;
    static EmbeddingStore reference;
    static long seed;

    @BeforeAll
    static void start() {
        seed = Seeds.seed("EmbeddingServerTest");
        words = TestTables.create(tmp.resolve("glove"), ROWS, DIM, seed);
        ids = TestTables.createIds(tmp.resolve("items"), 50, 4, seed + 1);
        server = EmbeddingServer.builder().table("glove", words).table("items", ids).port(0).build().start();
        client = new ApiClient(server.port());
        reference = EmbeddingStore.open(words);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (reference != null) {
            reference.close();
        }
    }

    static JsonNode json(HttpResponse<byte[]> res, int status) throws Exception {
        assertEquals(status, res.statusCode(), () -> new String(res.body(), StandardCharsets.UTF_8));
        return MAPPER.readTree(res.body());
    }

    @Test
    void healthz() throws Exception {
        HttpResponse<byte[]> res = client.get("/healthz");
        assertEquals("{\"status\":\"ok\"}", new String(res.body(), StandardCharsets.UTF_8));
        assertEquals("application/json", res.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(200, res.statusCode());
    }

    @Test
    void tablesDescribeShapeAndVocabulary() throws Exception {
        JsonNode all = json(client.get("/v1/tables"), 200).get("tables");
        assertEquals(2, all.size());
        JsonNode glove = all.get(0);
        assertEquals("glove", glove.get("name").asText());
        assertEquals(ROWS, glove.get("rows").asLong());
        assertEquals(DIM, glove.get("dim").asInt());
        assertEquals("f32", glove.get("dtype").asText());
        assertEquals(reference.generation(), glove.get("generation").asLong());
        assertTrue(glove.get("vocabulary").asBoolean());
        assertEquals(ROWS, glove.get("words").asLong());
        assertEquals(-1, glove.get("padding_index").asLong());
        JsonNode items = json(client.get("/v1/tables/items"), 200);
        assertEquals("items", items.get("name").asText());
        assertEquals(50, items.get("rows").asLong());
        assertFalse(items.get("vocabulary").asBoolean());
        assertEquals(0, items.get("words").asLong());
        assertEquals(all.get(1), items);
    }

    /** A random batch of words, some of them absent, and the positions of the absent ones. */
    private static List<String> batch(Random random, int n, List<Integer> missing) {
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (random.nextInt(5) == 0) {
                missing.add(i);
                batch.add("absent-" + random.nextInt(1000));
            } else {
                batch.add(TestTables.word(random.nextInt(ROWS)));
            }
        }
        return batch;
    }

    private static String wordsBody(List<String> batch) throws Exception {
        return MAPPER.writeValueAsString(java.util.Map.of("words", batch));
    }

    @Test
    void jsonLookupIsBitEqualToTheStore() throws Exception {
        Random random = new Random(seed);
        List<Integer> missing = new ArrayList<>();
        List<String> batch = batch(random, 200, missing);
        HttpResponse<byte[]> res = client.post("/v1/tables/glove/lookup", wordsBody(batch));
        JsonNode answer = json(res, 200);
        assertEquals(Long.toString(reference.generation()), res.headers().firstValue("X-Embstore-Generation").orElseThrow());
        assertEquals(DIM, answer.get("dim").asInt());
        JsonNode vectors = answer.get("vectors");
        assertEquals(batch.size(), vectors.size());
        List<Integer> answeredMissing = new ArrayList<>();
        answer.get("missing").forEach(m -> answeredMissing.add(m.asInt()));
        assertEquals(missing, answeredMissing);
        float[] expected = new float[DIM];
        for (int i = 0; i < batch.size(); i++) {
            if (missing.contains(i)) {
                assertTrue(vectors.get(i).isNull(), "position " + i);
                continue;
            }
            reference.read(reference.rowOf(batch.get(i)), expected);
            JsonNode v = vectors.get(i);
            assertEquals(DIM, v.size());
            for (int j = 0; j < DIM; j++) {
                // Read from the text as float32 (not through a double): the bits must be the stored ones.
                float got = Float.parseFloat(v.get(j).asText());
                assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(got),
                        "position " + i + " element " + j + ": " + v.get(j).asText() + " (seed " + seed + ")");
                assertEquals(Float.toString(expected[j]), v.get(j).asText(), "printed as embstore get --json does");
            }
        }
    }

    @Test
    void npyLookupIsBitEqualToTheStore() throws Exception {
        Random random = new Random(seed + 7);
        List<Integer> missing = new ArrayList<>();
        List<String> batch = batch(random, 257, missing);
        HttpResponse<byte[]> res = client.post("/v1/tables/glove/lookup", wordsBody(batch), "application/x-npy");
        assertEquals(200, res.statusCode(), () -> new String(res.body(), StandardCharsets.UTF_8));
        assertEquals("application/x-npy", res.headers().firstValue("Content-Type").orElseThrow());
        String missingHeader = res.headers().firstValue("X-Embstore-Missing").orElseThrow();
        assertEquals(missing.stream().map(String::valueOf).toList(), List.of(missingHeader.split(",")));
        float[] values = Npy.float32(res.body(), batch.size(), DIM);
        float[] expected = new float[DIM];
        for (int i = 0; i < batch.size(); i++) {
            if (missing.contains(i)) {
                java.util.Arrays.fill(expected, 0f);
            } else {
                reference.read(reference.rowOf(batch.get(i)), expected);
            }
            for (int j = 0; j < DIM; j++) {
                assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(values[i * DIM + j]),
                        "position " + i + " element " + j + " (seed " + seed + ")");
            }
        }
    }

    @Test
    void npyMissingWordsAreZeroRowsAfterAnswersOfFoundWords() throws Exception {
        // Large .npy answers are gathered into reused arrays: a missing word's row must not show an earlier answer's.
        int n = ApiHandler.ONE_WRITE_BYTES / (DIM * Float.BYTES) + 1;
        List<String> found = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            found.add(TestTables.word((i * 7) % ROWS));
            absent.add(i % 2 == 0 ? "absent-" + i : TestTables.word(i % ROWS));
        }
        for (int round = 0; round < 3; round++) {
            assertEquals(200, client.post("/v1/tables/glove/lookup", wordsBody(found), "application/x-npy").statusCode());
            HttpResponse<byte[]> res = client.post("/v1/tables/glove/lookup", wordsBody(absent), "application/x-npy");
            assertEquals(200, res.statusCode());
            float[] values = Npy.float32(res.body(), absent.size(), DIM);
            float[] expected = new float[DIM];
            for (int i = 0; i < absent.size(); i++) {
                if (i % 2 == 0) {
                    java.util.Arrays.fill(expected, 0f);
                } else {
                    reference.read(reference.rowOf(absent.get(i)), expected);
                }
                for (int j = 0; j < DIM; j++) {
                    assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(values[i * DIM + j]),
                            "round " + round + " position " + i + " element " + j);
                }
            }
        }
    }

    @Test
    void npyWithoutMissingWordsHasNoMissingHeader() {
        HttpResponse<byte[]> res = client.post("/v1/tables/items/lookup", "{\"ids\": [49, 0, 0, 7]}", "application/x-npy");
        assertEquals(200, res.statusCode());
        assertTrue(res.headers().firstValue("X-Embstore-Missing").isEmpty());
        float[] values = Npy.float32(res.body(), 4, 4);
        try (EmbeddingStore items = EmbeddingStore.open(ids)) {
            float[] expected = new float[4 * 4];
            items.gather(new long[] {49, 0, 0, 7}, expected);
            assertArrayEquals(expected, values);
        }
    }

    @Test
    void idLookupAnswersTheRowsInOrder() throws Exception {
        JsonNode answer = json(client.post("/v1/tables/glove/lookup", "{\"ids\":[5,0,299,5]}"), 200);
        long[] rows = {5, 0, 299, 5};
        float[] expected = new float[DIM];
        for (int i = 0; i < rows.length; i++) {
            reference.read(rows[i], expected);
            for (int j = 0; j < DIM; j++) {
                assertEquals(Float.floatToRawIntBits(expected[j]),
                        Float.floatToRawIntBits(Float.parseFloat(answer.get("vectors").get(i).get(j).asText())));
            }
        }
        assertEquals(0, answer.get("missing").size());
    }

    @Test
    void emptyBatchIsAnEmptyAnswer() throws Exception {
        assertEquals("{\"dim\":13,\"vectors\":[],\"missing\":[]}",
                new String(client.post("/v1/tables/glove/lookup", "{\"words\":[]}").body(), StandardCharsets.UTF_8));
        HttpResponse<byte[]> npy = client.post("/v1/tables/glove/lookup", "{\"ids\":[]}", "application/x-npy");
        assertEquals(0, Npy.float32(npy.body(), 0, DIM).length);
    }

    @Test
    void similarByWordIsTheStoresMostSimilar() throws Exception {
        for (int row : new int[] {0, 3, 42}) {
            String word = TestTables.word(row);
            JsonNode answer = json(client.post("/v1/tables/glove/similar",
                    "{\"word\":" + MAPPER.writeValueAsString(word) + ",\"k\":7}"), 200);
            List<Neighbor> expected = reference.mostSimilar(word, 7);
            assertNeighbors(expected, answer.get("neighbors"));
        }
        // k defaults to 10
        assertEquals(10, json(client.post("/v1/tables/glove/similar", "{\"word\":\"w1\"}"), 200).get("neighbors").size());
    }

    @Test
    void similarByVectorWithExclusions() throws Exception {
        float[] q = new float[DIM];
        reference.read(9, q);
        StringBuilder vector = new StringBuilder();
        for (float f : q) {
            vector.append(vector.isEmpty() ? "" : ",").append(f);
        }
        String exclude = TestTables.word(9);
        JsonNode answer = json(client.post("/v1/tables/glove/similar",
                "{\"vector\":[" + vector + "],\"k\":5,\"exclude\":[\"" + exclude + "\"]}"), 200);
        assertNeighbors(reference.mostSimilar(q, 5, java.util.Set.of(exclude)), answer.get("neighbors"));
        JsonNode all = json(client.post("/v1/tables/glove/similar", "{\"vector\":[" + vector + "],\"k\":3}"), 200);
        assertNeighbors(reference.mostSimilar(q, 3, java.util.Set.of()), all.get("neighbors"));
    }

    @Test
    void similarOnATableWithoutVocabularyOmitsWords() throws Exception {
        JsonNode answer = json(client.post("/v1/tables/items/similar", "{\"vector\":[1,0,0,0.5],\"k\":3}"), 200);
        assertEquals(3, answer.get("neighbors").size());
        for (JsonNode n : answer.get("neighbors")) {
            assertNull(n.get("word"));
            assertTrue(n.has("row") && n.has("similarity"));
        }
    }

    static void assertNeighbors(List<Neighbor> expected, JsonNode neighbors) {
        assertEquals(expected.size(), neighbors.size());
        for (int i = 0; i < expected.size(); i++) {
            JsonNode n = neighbors.get(i);
            assertEquals(expected.get(i).row(), n.get("row").asLong(), "neighbour " + i);
            assertEquals(expected.get(i).word(), n.get("word").asText());
            assertEquals(Float.floatToRawIntBits(expected.get(i).similarity()),
                    Float.floatToRawIntBits(Float.parseFloat(n.get("similarity").asText())));
        }
    }

    @Test
    void http2CleartextServesTheSameAnswers() throws Exception {
        ApiClient h2 = new ApiClient(server.port(), HttpClient.Version.HTTP_2);
        HttpResponse<byte[]> one = client.post("/v1/tables/glove/lookup", "{\"ids\":[1,2,3]}", "application/x-npy");
        // The JDK's client upgrades from HTTP/1.1 (h2c) on its first request; the second one is HTTP/2 for sure.
        h2.get("/healthz");
        HttpResponse<byte[]> two = h2.post("/v1/tables/glove/lookup", "{\"ids\":[1,2,3]}", "application/x-npy");
        assertEquals(HttpClient.Version.HTTP_2, two.version());
        assertEquals(200, two.statusCode());
        assertArrayEquals(one.body(), two.body());
    }

    @Test
    void metricsCountRequestsRowsLatencyAndErrors() throws Exception {
        client.post("/v1/tables/items/lookup", "{\"ids\":[1,2,3]}");
        client.post("/v1/tables/items/lookup", "{\"ids\":[1,2,3,4,5]}", "application/x-npy");
        client.post("/v1/tables/items/lookup", "{\"ids\":[-1]}");
        HttpResponse<byte[]> res = client.get("/metrics");
        assertEquals(200, res.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", res.headers().firstValue("Content-Type").orElseThrow());
        String text = new String(res.body(), StandardCharsets.UTF_8);
        assertTrue(metric(text, "embstore_rows_served_total{table=\"items\"}") >= 8, text);
        assertTrue(metric(text, "embstore_requests_total{endpoint=\"lookup\",status=\"200\"}") >= 2, text);
        assertTrue(metric(text, "embstore_requests_total{endpoint=\"lookup\",status=\"400\"}") >= 1, text);
        assertTrue(metric(text, "embstore_errors_total{kind=\"bad_request\"}") >= 1, text);
        assertTrue(metric(text, "embstore_request_duration_seconds_count{endpoint=\"lookup\"}") >= 3, text);
        assertEquals(metric(text, "embstore_request_duration_seconds_count{endpoint=\"lookup\"}"),
                metric(text, "embstore_request_duration_seconds_bucket{endpoint=\"lookup\",le=\"+Inf\"}"));
        // This request itself is in flight.
        assertTrue(metric(text, "embstore_in_flight") >= 1, text);
        assertEquals(-1, metric(text, "embstore_errors_total{kind=\"internal\"}"), text);
    }

    /** The value of the sample named exactly {@code series}, or -1 when there is none. */
    static double metric(String text, String series) {
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1));
            }
        }
        return -1;
    }

    /** Reads a .npy answer: checks its header and returns the float32 values. */
    static final class Npy {
        static float[] float32(byte[] body, int rows, int dim) {
            assertEquals((byte) 0x93, body[0]);
            assertEquals("NUMPY", new String(body, 1, 5, StandardCharsets.US_ASCII));
            int headerLen = (body[8] & 0xff) | (body[9] & 0xff) << 8;
            String header = new String(body, 10, headerLen, StandardCharsets.US_ASCII);
            assertEquals(0, (10 + headerLen) % 64, "header padded to 64 bytes");
            assertTrue(header.contains("'descr': '<f4'"), header);
            assertTrue(header.contains("'fortran_order': False"), header);
            assertTrue(header.contains("'shape': (" + rows + ", " + dim + ")"), header);
            assertTrue(header.endsWith("\n"));
            ByteBuffer data = ByteBuffer.wrap(body, 10 + headerLen, body.length - 10 - headerLen).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals((long) rows * dim * 4, data.remaining());
            float[] values = new float[rows * dim];
            data.asFloatBuffer().get(values);
            return values;
        }
    }
}
