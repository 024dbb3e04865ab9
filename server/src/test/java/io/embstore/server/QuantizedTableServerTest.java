package io.embstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.testkit.Seeds;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A q8 table is served as float32 through the store's reads: its answers are {@code EmbeddingStore.read}'s bits. */
class QuantizedTableServerTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int ROWS = 200;
    private static final int DIM = 37;

    @TempDir
    Path tmp;

    @Test
    void q8LookupAnswersAreTheStoresDequantizedReads() throws Exception {
        long seed = Seeds.seed("QuantizedTableServerTest");
        Random random = new Random(seed);
        Path dir = tmp.resolve("q8");
        List<String> words = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            words.add(TestTables.word(i));
        }
        try (WritableStore s = EmbeddingStore.builder(dir).dim(DIM).words(words).dtype(Dtype.Q8).create()) {
            float[] v = new float[DIM];
            for (int r = 0; r < ROWS; r++) {
                for (int j = 0; j < DIM; j++) {
                    v[j] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-2, 3)));
                }
                s.write(r, v);
            }
        }
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            batch.add(TestTables.word(random.nextInt(ROWS)));
        }
        String body = MAPPER.writeValueAsString(Map.of("words", batch));
        try (EmbeddingServer server = EmbeddingServer.builder().table("q8", dir).port(0).build().start();
             EmbeddingStore reference = EmbeddingStore.open(dir)) {
            ApiClient client = new ApiClient(server.port());
            JsonNode table = MAPPER.readTree(client.get("/v1/tables/q8").body());
            assertEquals("q8", table.get("dtype").asText());
            HttpResponse<byte[]> json = client.post("/v1/tables/q8/lookup", body);
            assertEquals(200, json.statusCode(), () -> new String(json.body(), StandardCharsets.UTF_8));
            JsonNode vectors = MAPPER.readTree(json.body()).get("vectors");
            HttpResponse<byte[]> npy = client.post("/v1/tables/q8/lookup", body, "application/x-npy");
            assertEquals(200, npy.statusCode());
            float[] npyValues = EmbeddingServerTest.Npy.float32(npy.body(), batch.size(), DIM);
            float[] expected = new float[DIM];
            for (int i = 0; i < batch.size(); i++) {
                reference.read(reference.rowOf(batch.get(i)), expected);
                for (int j = 0; j < DIM; j++) {
                    String where = "position " + i + " element " + j + " (seed " + seed + ")";
                    assertEquals(Float.floatToRawIntBits(expected[j]),
                            Float.floatToRawIntBits(Float.parseFloat(vectors.get(i).get(j).asText())), "json " + where);
                    assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(npyValues[i * DIM + j]),
                            ".npy " + where);
                }
            }
        }
    }
}
