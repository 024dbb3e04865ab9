package io.embstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.testkit.Seeds;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server as one more reader of a store a live writer changes: whole rows only, appended rows seen. */
class LiveWriterServerTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int ROWS = 64;
    /** Odd and over a cache line: a torn copy would show a row of two values. */
    private static final int DIM = 37;

    @TempDir
    Path tmp;

    private static float[] filled(float value) {
        float[] v = new float[DIM];
        Arrays.fill(v, value);
        return v;
    }

    /** Each row must be DIM copies of one value; returns the number of rows checked. */
    private static void assertWhole(float[] values, int rows, String what) {
        for (int r = 0; r < rows; r++) {
            float first = values[r * DIM];
            for (int j = 1; j < DIM; j++) {
                if (Float.floatToRawIntBits(values[r * DIM + j]) != Float.floatToRawIntBits(first)) {
                    throw new AssertionError(what + ": row " + r + " is torn: element 0 is " + first + ", element " + j
                            + " is " + values[r * DIM + j]);
                }
            }
        }
    }

    @Test
    void clientsSeeWholeRowsAndAppendedWordsWhileAWriterWrites() throws Exception {
        long seed = Seeds.seed("LiveWriterServerTest");
        Path dir = tmp.resolve("live");
        List<String> words = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            words.add("w" + i);
        }
        try (WritableStore writer = EmbeddingStore.builder(dir).dim(DIM).words(words).create()) {
            for (int r = 0; r < ROWS; r++) {
                writer.write(r, filled(r));
            }
            writer.publish();
            try (EmbeddingServer server = EmbeddingServer.builder().table("live", dir).port(0).build().start()) {
                ApiClient client = new ApiClient(server.port());
                AtomicBoolean writing = new AtomicBoolean(true);
                AtomicLong appended = new AtomicLong();
                ExecutorService pool = Executors.newFixedThreadPool(3);
                try {
                    Future<?> writes = pool.submit(() -> {
                        Random random = new Random(seed);
                        int round = 0;
                        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                        while (System.nanoTime() < deadline) {
                            for (int i = 0; i < 200; i++) {
                                int row = random.nextInt(ROWS);
                                writer.write(row, filled((round % 10_000) * 1000 + row));
                            }
                            writer.publish();
                            long n = appended.get();
                            writer.append("new" + n, filled(-1 - n));
                            appended.set(n + 1);
                            round++;
                        }
                        writing.set(false);
                        return null;
                    });
                    List<Future<Integer>> readers = new ArrayList<>();
                    for (int t = 0; t < 2; t++) {
                        boolean npy = t == 0;
                        readers.add(pool.submit(() -> {
                            Random random = new Random(seed + (npy ? 1 : 2));
                            int answers = 0;
                            while (writing.get() || answers < 20) {
                                long[] ids = new long[32];
                                for (int i = 0; i < ids.length; i++) {
                                    ids[i] = random.nextInt(ROWS);
                                }
                                String body = "{\"ids\":" + Arrays.toString(ids) + "}";
                                float[] values;
                                if (npy) {
                                    HttpResponse<byte[]> res = client.post("/v1/tables/live/lookup", body, "application/x-npy");
                                    assertEquals(200, res.statusCode());
                                    values = EmbeddingServerTest.Npy.float32(res.body(), ids.length, DIM);
                                } else {
                                    JsonNode answer = MAPPER.readTree(client.post("/v1/tables/live/lookup", body).body());
                                    values = new float[ids.length * DIM];
                                    for (int i = 0; i < ids.length; i++) {
                                        for (int j = 0; j < DIM; j++) {
                                            values[i * DIM + j] = Float.parseFloat(answer.get("vectors").get(i).get(j).asText());
                                        }
                                    }
                                }
                                assertWhole(values, ids.length, (npy ? "npy" : "json") + " answer " + answers);
                                for (int i = 0; i < ids.length; i++) {
                                    assertEquals(ids[i], Math.round(values[i * DIM]) % 1000, "the row asked for");
                                }
                                // A word the writer appended before this request is there.
                                long known = appended.get();
                                if (known > 0) {
                                    String word = "new" + (known - 1);
                                    JsonNode found = MAPPER.readTree(client.post("/v1/tables/live/lookup",
                                            "{\"words\":[\"" + word + "\"]}").body());
                                    assertEquals(0, found.get("missing").size(), word + " appended but not served");
                                    assertEquals(-(float) known, found.get("vectors").get(0).get(0).floatValue());
                                }
                                answers++;
                            }
                            return answers;
                        }));
                    }
                    writes.get(60, TimeUnit.SECONDS);
                    for (Future<Integer> r : readers) {
                        assertTrue(r.get(60, TimeUnit.SECONDS) >= 20);
                    }
                } finally {
                    writing.set(false);
                    pool.shutdownNow();
                    assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
                }
                JsonNode table = MAPPER.readTree(client.get("/v1/tables/live").body());
                assertEquals(ROWS + appended.get(), table.get("rows").asLong());
                assertEquals(writer.generation(), table.get("generation").asLong());
            }
        }
    }

    @Test
    void closeLetsRequestsInFlightFinishThenClosesTheTables() throws Exception {
        Path dir = TestTables.create(tmp.resolve("t"), 10, 3, 1);
        EmbeddingServer server = EmbeddingServer.builder().table("t", dir).port(0).build().start();
        ApiClient client = new ApiClient(server.port());
        String body = "{\"ids\":[1,2]}";
        try (Socket slow = client.socket()) {
            ApiClient.write(slow, "POST /v1/tables/t/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 4));
            // The request is in flight once the metrics count it (this metrics request is the other one).
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (EmbeddingServerTest.metric(new String(client.get("/metrics").body()), "embstore_in_flight") < 2) {
                assertTrue(System.nanoTime() < deadline, "the slow request never reached its handler");
                Thread.sleep(10);
            }
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
            // close() waits for the request in flight; new requests are refused meanwhile.
            long refusedDeadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                HttpResponse<byte[]> res;
                try {
                    res = client.get("/healthz");
                } catch (RuntimeException e) {
                    break;
                }
                if (res.statusCode() == 503) {
                    assertEquals("overloaded", ApiClient.error(503, res.body())[0]);
                    break;
                }
                assertTrue(System.nanoTime() < refusedDeadline, "new requests still served while closing");
                Thread.sleep(10);
            }
            assertTrue(!closing.isDone(), "close() returned with a request in flight");
            ApiClient.write(slow, body.substring(4));
            ApiClient.RawResponse res = ApiClient.read(slow);
            assertEquals(200, res.status(), res.body());
            assertTrue(res.body().startsWith("{\"dim\":3,\"vectors\":[["), res.body());
            closing.get(30, TimeUnit.SECONDS);
        }
    }
}
