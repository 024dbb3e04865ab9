package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.Dtype;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCommandTest {
    @TempDir
    Path tmp;

    private Path store() {
        Path store = tmp.resolve("s");
        EmbeddingStore.builder(store).words(List.of("<pad>", "cat", "dog")).dim(7).paddingIndex(0)
                .init(Init.normal(1)).create().close();
        return store;
    }

    @Test
    void describesTheStoreInText() {
        Path store = store();
        CliRun run = CliRun.of("info", store.toString());
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertEquals("", run.err());
        String out = run.out();
        assertTrue(out.startsWith("path        " + store.toAbsolutePath() + "\n"
                + "rows        3\n"
                + "dim         7\n"
                + "dtype       f32 (4 bytes a value)\n"
                + "vocabulary  yes\n"
                + "padding     row 0 ('<pad>')\n"
                + "generation  "), out);
        assertTrue(out.contains("\n  matrix.npy  "), out);
        assertTrue(out.contains("\n  manifest.txt  "), out);
        // A few KiB on any machine that runs the tests: it fits, and info names the machine's memory.
        assertTrue(out.contains("\nmemory      fits ("), out);
    }

    @Test
    void jsonParsesAndAgreesWithTheStore() throws Exception {
        Path store = store();
        CliRun run = CliRun.of("info", store.toString(), "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        JsonNode info = run.json();
        assertEquals(store.toAbsolutePath().toString(), info.get("path").asText());
        assertEquals(3, info.get("rows").asLong());
        assertEquals(7, info.get("dim").asInt());
        assertEquals("f32", info.get("dtype").asText());
        assertTrue(info.get("vocabulary").asBoolean());
        assertEquals(0, info.get("padding_index").asLong());
        assertTrue(info.get("generation").isIntegralNumber());
        assertEquals(0, info.get("damaged_rows").asLong());
        assertEquals(Files.size(store.resolve("matrix.npy")), info.get("files").get("matrix.npy").asLong());
        long sum = 0;
        for (JsonNode size : info.get("files")) {
            sum += size.asLong();
        }
        assertEquals(sum, info.get("total_bytes").asLong());
        assertTrue(info.get("memory_bytes").asLong() > sum, run.out());
        assertEquals(false, info.get("larger_than_memory").asBoolean(true));
    }

    /** A store reached through a symbolic link lists the files of its target (it listed none: "files 0, 0 bytes"). */
    @Test
    void aSymlinkedStoreListsItsTargetsFiles() throws Exception {
        Path store = store();
        Path link = Files.createSymbolicLink(tmp.resolve("link"), store);
        JsonNode direct = CliRun.of("info", store.toString(), "--json").json();
        CliRun run = CliRun.of("info", link.toString(), "--json");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        JsonNode linked = run.json();
        assertEquals(direct.get("files"), linked.get("files"));
        assertTrue(linked.get("total_bytes").asLong() > 0, run.out());
        assertEquals(link.toAbsolutePath().toString(), linked.get("path").asText(), "the path as the user named it");
        CliRun text = CliRun.of("info", link.toString());
        assertTrue(text.out().contains("\n  matrix.npy  "), text.out());
    }

    @Test
    void storeWithoutVocabularyOrPadding() {
        Path store = tmp.resolve("ids");
        EmbeddingStore.builder(store).rows(4).dim(2).vocabulary(false).dtype(Dtype.F16).create().close();
        CliRun text = CliRun.of("info", store.toString());
        assertTrue(text.out().contains("vocabulary  no\npadding     none\n"), text.out());
        assertTrue(text.out().contains("dtype       f16 (2 bytes a value)\n"), text.out());
        JsonNode json = CliRun.of("info", "--json", store.toString()).json();
        assertTrue(json.get("padding_index").isNull());
        assertEquals(false, json.get("vocabulary").asBoolean());
    }

    @Test
    void damagedRowsAreCounted() throws Exception {
        Path store = tmp.resolve("damaged");
        EmbeddingStore.builder(store).rows(8).dim(2).vocabulary(false).create().close();
        CliRun clean = CliRun.of("info", store.toString());
        assertTrue(clean.out().contains("\ndamaged     0 rows\n"), clean.out());
        // Row 5's counter odd, as a writer killed in the middle of the row leaves it; the next writer records it.
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(store.resolve("rows.seq"),
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, 3), 5 * 4);
        }
        EmbeddingStore.openForWriting(store).close();
        CliRun text = CliRun.of("info", store.toString());
        assertEquals(ExitCode.OK, text.status(), text::toString);
        assertTrue(text.out().contains("\ndamaged     1 row (5): "), text.out());
        assertEquals(1, CliRun.of("info", "--json", store.toString()).json().get("damaged_rows").asLong());
    }

    @Test
    void missingStoreIsNotFoundOnOneLine() {
        Path absent = tmp.resolve("absent");
        CliRun run = CliRun.of("info", absent.toString());
        assertEquals(ExitCode.NOT_FOUND, run.status());
        assertEquals("", run.out());
        assertArrayEquals(new String[] {"embstore info: " + absent + ": no such store directory"}, run.errLines());
    }

    @Test
    void aDirectoryThatIsNotAStoreIsBadInput() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("plain"));
        CliRun run = CliRun.of("info", dir.toString());
        assertEquals(ExitCode.USER_ERROR, run.status());
        assertArrayEquals(new String[] {"embstore info: " + dir + ": not an embstore store: no manifest.txt in this directory"},
                run.errLines());
    }
}
