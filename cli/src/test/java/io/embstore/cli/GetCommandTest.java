package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GetCommandTest {
    /** Values that need all of float's digits, and one that needs an exponent. */
    private static final float[] CAT = {0.1f, -2.5f, 1.0e-7f, 3.4028235e38f, (float) Math.PI};
    private static final float[] CAFE = {1f, 2f, 3f, 4f, 5f};

    @TempDir
    Path tmp;
    Path store;

    @BeforeEach
    void createStore() {
        store = tmp.resolve("s");
        try (WritableStore table = EmbeddingStore.builder(store).words(List.of("cat", "dog", "café"))
                .dim(5).init(Init.zeros()).create()) {
            table.write(0, CAT);
            table.write(2, CAFE);
        }
    }

    @Test
    void printsWordAndValuesThatReadBackExactly() {
        CliRun run = CliRun.of("get", store.toString(), "cat", "café");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertEquals("", run.err());
        String[] lines = run.out().split("\n");
        assertEquals(2, lines.length, run.out());
        assertEquals("cat 0.1 -2.5 1.0E-7 3.4028235E38 3.1415927", lines[0]);
        assertEquals("café 1.0 2.0 3.0 4.0 5.0", lines[1]);
        String[] fields = lines[0].split(" ");
        for (int i = 0; i < CAT.length; i++) {
            assertEquals(Float.floatToIntBits(CAT[i]), Float.floatToIntBits(Float.parseFloat(fields[i + 1])));
        }
    }

    @Test
    void rowsByNumber() {
        CliRun run = CliRun.of("get", store.toString(), "--rows", "2,1");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertEquals("café 1.0 2.0 3.0 4.0 5.0\ndog 0.0 0.0 0.0 0.0 0.0\n", run.out());
    }

    @Test
    void rowsOfAStoreWithoutVocabularyAreNamedByNumber() {
        Path ids = tmp.resolve("ids");
        EmbeddingStore.builder(ids).rows(3).dim(2).vocabulary(false).init(Init.zeros()).create().close();
        CliRun run = CliRun.of("get", ids.toString(), "--rows", "2");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertEquals("2 0.0 0.0\n", run.out());
        CliRun byWord = CliRun.of("get", ids.toString(), "cat");
        assertEquals(ExitCode.USER_ERROR, byWord.status());
        assertArrayEquals(new String[] {"embstore get: " + ids.toAbsolutePath()
                + " has no vocabulary (an id-indexed table): look rows up with --rows=ROW[,ROW...]"}, byWord.errLines());
    }

    @Test
    void jsonParsesAndHoldsTheExactValues() {
        CliRun run = CliRun.of("get", store.toString(), "cat", "dog", "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        JsonNode json = run.json();
        assertEquals(store.toAbsolutePath().toString(), json.get("path").asText());
        assertEquals(5, json.get("dim").asInt());
        JsonNode cat = json.get("vectors").get(0);
        assertEquals("cat", cat.get("word").asText());
        assertEquals(0, cat.get("row").asLong());
        for (int i = 0; i < CAT.length; i++) {
            assertEquals(CAT[i], cat.get("vector").get(i).floatValue());
        }
        assertEquals(1, json.get("vectors").get(1).get("row").asLong());
        assertEquals(0, json.get("missing").size());
    }

    @Test
    void outOfVocabularyWordIsNamedAndTheOthersStillPrinted() {
        CliRun run = CliRun.of("get", store.toString(), "cat", "zebra", "café");
        assertEquals(ExitCode.NOT_FOUND, run.status());
        assertArrayEquals(new String[] {"embstore get: 'zebra' is not in the vocabulary of " + store.toAbsolutePath()},
                run.errLines());
        assertEquals(2, run.out().split("\n").length, run.out());
        assertTrue(run.out().startsWith("cat "), run.out());

        JsonNode json = CliRun.of("get", store.toString(), "zebra", "dog", "--json").json();
        assertEquals("zebra", json.get("missing").get(0).asText());
        assertEquals("dog", json.get("vectors").get(0).get("word").asText());
    }

    @Test
    void rowOutsideTheStoreIsNotFound() {
        CliRun run = CliRun.of("get", store.toString(), "--rows", "0,3,-1");
        assertEquals(ExitCode.NOT_FOUND, run.status());
        assertArrayEquals(new String[] {
                "embstore get: row 3 is outside " + store.toAbsolutePath() + ", whose rows are 0 to 2",
                "embstore get: row -1 is outside " + store.toAbsolutePath() + ", whose rows are 0 to 2"}, run.errLines());
        assertTrue(run.out().startsWith("cat "), run.out());
        JsonNode json = CliRun.of("get", store.toString(), "--rows", "3", "--json").json();
        assertEquals(3, json.get("missing").get(0).asLong());
        assertEquals(0, json.get("vectors").size());
    }

    @Test
    void missingStoreIsNotFound() {
        Path absent = tmp.resolve("absent");
        CliRun run = CliRun.of("get", absent.toString(), "cat");
        assertEquals(ExitCode.NOT_FOUND, run.status());
        assertEquals("", run.out());
        assertArrayEquals(new String[] {"embstore get: " + absent + ": no such store directory"}, run.errLines());
    }

    @Test
    void wordsAndRowsTogetherOrNeitherAreUsageErrors() {
        CliRun both = CliRun.of("get", store.toString(), "cat", "--rows", "1");
        assertEquals(ExitCode.USAGE, both.status());
        assertArrayEquals(new String[] {"embstore get: give WORDs or --rows, not both (see 'embstore get --help')"},
                both.errLines());
        CliRun neither = CliRun.of("get", store.toString());
        assertEquals(ExitCode.USAGE, neither.status());
        assertEquals(1, neither.errLines().length, neither::toString);
        CliRun badRow = CliRun.of("get", store.toString(), "--rows", "one");
        assertEquals(ExitCode.USAGE, badRow.status());
        assertEquals(1, badRow.errLines().length, badRow::toString);
    }
}
