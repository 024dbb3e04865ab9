package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;

import io.embstore.store.EmbeddingStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the demo end to end: it starts a real second JVM. */
class DemoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void demoRunsEndToEndAndCleansUp() {
        Path store = tmp.resolve("demo");
        CliRun run = CliRun.of("demo", "--dir", store.toString());
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertEquals("", run.err(), run::toString);
        String out = run.out();
        assertTrue(out.contains("reader | rowOf(\"king\") = "), out);
        assertTrue(out.contains("<- the new vector, at once"), out);
        assertTrue(out.contains("reader | refresh() = true: rows() = " + (DemoCommand.ROWS + 1)), out);
        assertTrue(out.contains("reader | saw the write and the new word without reopening the store"), out);
        assertTrue(out.strip().endsWith("without reopening the store."), out);
        assertFalse(Files.exists(store), "the demo store is deleted without --keep");
    }

    @Test
    void keepLeavesAStoreTheOtherCommandsRead() {
        Path store = tmp.resolve("kept");
        CliRun run = CliRun.of("demo", "--dir", store.toString(), "--keep");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            assertEquals(DemoCommand.ROWS + 1, table.rows());
            assertEquals(DemoCommand.ROWS, table.rowOf(DemoVocabulary.NEW_WORD));
        }
        CliRun get = CliRun.of("get", store.toString(), DemoVocabulary.KING);
        assertEquals(ExitCode.OK, get.status(), get::toString);
        assertTrue(get.out().startsWith("king 0.01 0.02 0.03 "), get.out());
    }

    @Test
    void existingDirIsRefused() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("there"));
        CliRun run = CliRun.of("demo", "--dir", dir.toString());
        assertEquals(ExitCode.USER_ERROR, run.status());
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains(dir + ": already exists"), run.err());
        assertTrue(Files.exists(dir), "an existing directory is never deleted");
    }

    @Test
    void vocabularyIsDistinctDeterministicAndHasTheDemoWords() {
        List<String> words = DemoVocabulary.words(DemoCommand.ROWS);
        assertEquals(DemoCommand.ROWS, words.size());
        assertEquals(DemoCommand.ROWS, new HashSet<>(words).size());
        assertEquals(words, DemoVocabulary.words(DemoCommand.ROWS));
        assertTrue(words.contains(DemoVocabulary.KING) && words.contains(DemoVocabulary.QUEEN)
                && words.contains(DemoVocabulary.PARIS));
        assertFalse(words.contains(DemoVocabulary.NEW_WORD));
    }
}
