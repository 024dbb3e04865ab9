package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Dtype;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CreateCommandTest {
    @TempDir
    Path tmp;

    @Test
    void createsAnIdIndexedTableWithoutWords() {
        Path store = tmp.resolve("ids");
        CliRun run = CliRun.of("create", store.toString(), "--rows", "37", "--dim", "11", "--seed", "7");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertEquals("", run.err());
        assertEquals("created " + store + ": 37 rows x 11 dims f32, no vocabulary, normal(0, 1), seed 7\n", run.out());
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            assertEquals(37, table.rows());
            assertEquals(11, table.dim());
            assertEquals(Dtype.F32, table.dtype());
            assertFalse(table.hasVocabulary());
            assertEquals(-1, table.paddingIndex());
        }
    }

    @Test
    void theSameSeedGivesTheSameTable() {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        assertEquals(0, CliRun.of("create", a.toString(), "--rows", "5", "--dim", "13", "--seed", "3").status());
        assertEquals(0, CliRun.of("create", b.toString(), "--rows", "5", "--dim", "13", "--seed", "3").status());
        try (EmbeddingStore x = EmbeddingStore.open(a); EmbeddingStore y = EmbeddingStore.open(b)) {
            float[] u = new float[13];
            float[] v = new float[13];
            for (int row = 0; row < 5; row++) {
                x.read(row, u);
                y.read(row, v);
                assertArrayEquals(u, v);
            }
        }
    }

    @Test
    void wordsFileGivesRowsAndVocabulary() throws IOException {
        Path words = tmp.resolve("words.txt");
        // A byte order mark, CRLF line ends and non-ASCII words, as files from Windows editors have.
        Files.writeString(words, "\uFEFFcat\r\ndog\r\ncafé\r\n日本\r\n", StandardCharsets.UTF_8);
        Path store = tmp.resolve("vocab");
        CliRun run = CliRun.of("create", store.toString(), "--words", words.toString(), "--dim", "3",
                "--dtype", "f16", "--init", "uniform", "--padding-index", "1");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertTrue(run.out().contains("4 rows x 3 dims f16, vocabulary of 4 words, uniform(-0.05, 0.05), seed 42, padding row 1"),
                run.out());
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            assertEquals(List.of("cat", "dog", "café", "日本"),
                    List.of(table.word(0), table.word(1), table.word(2), table.word(3)));
            assertEquals(2, table.rowOf("café"));
            assertEquals(Dtype.F16, table.dtype());
            assertEquals(1, table.paddingIndex());
            float[] v = new float[3];
            table.read(0, v);
            for (float x : v) {
                assertTrue(x >= -0.05f && x <= 0.05f, "uniform(-0.05, 0.05) gave " + x);
            }
        }
    }

    @Test
    void zerosInitGivesZeros() {
        Path store = tmp.resolve("z");
        assertEquals(0, CliRun.of("create", store.toString(), "--rows", "3", "--dim", "5", "--init", "zeros").status());
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            float[] v = new float[5];
            table.read(2, v);
            assertArrayEquals(new float[5], v);
        }
    }

    @Test
    void badDtypeIsAUsageErrorOnOneLine() {
        Path store = tmp.resolve("s");
        CliRun run = CliRun.of("create", store.toString(), "--rows", "3", "--dim", "5", "--dtype", "f64");
        assertEquals(ExitCode.USAGE, run.status());
        assertEquals("", run.out());
        assertArrayEquals(new String[] {"embstore create: Invalid value for option '--dtype': expected f32, f16, q8 or q4,"
                + " found 'f64' (see 'embstore create --help')"}, run.errLines());
        assertFalse(Files.exists(store));
    }

    @Test
    void badInitIsAUsageError() {
        CliRun run = CliRun.of("create", tmp.resolve("s").toString(), "--rows", "3", "--dim", "5", "--init", "xavier");
        assertEquals(ExitCode.USAGE, run.status());
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains("expected normal, uniform or zeros, found 'xavier'"), run.err());
    }

    @Test
    void neitherRowsNorWordsIsAUsageError() {
        CliRun run = CliRun.of("create", tmp.resolve("s").toString(), "--dim", "5");
        assertEquals(ExitCode.USAGE, run.status());
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains("give --rows=N, or --words=FILE"), run.err());
    }

    @Test
    void missingDimIsAUsageError() {
        CliRun run = CliRun.of("create", tmp.resolve("s").toString(), "--rows", "5");
        assertEquals(ExitCode.USAGE, run.status());
        assertEquals(1, run.errLines().length, run::toString);
        assertTrue(run.err().contains("--dim"), run.err());
    }

    @Test
    void existingPathIsABadInputNamingThePath() {
        Path store = tmp.resolve("s");
        assertEquals(0, CliRun.of("create", store.toString(), "--rows", "2", "--dim", "2").status());
        CliRun run = CliRun.of("create", store.toString(), "--rows", "2", "--dim", "2");
        assertEquals(ExitCode.USER_ERROR, run.status());
        assertArrayEquals(new String[] {"embstore create: " + store + ": already exists: choose a new path or delete it first"},
                run.errLines());
    }

    @Test
    void valuesTheStoreRejectsAreBadInput() {
        CliRun dim = CliRun.of("create", tmp.resolve("a").toString(), "--rows", "2", "--dim", "0");
        assertEquals(ExitCode.USER_ERROR, dim.status());
        assertArrayEquals(new String[] {"embstore create: dim must be in [1, 65536]: dim=0"}, dim.errLines());
        CliRun padding = CliRun.of("create", tmp.resolve("b").toString(), "--rows", "2", "--dim", "2", "--padding-index", "2");
        assertEquals(ExitCode.USER_ERROR, padding.status());
        assertArrayEquals(new String[] {"embstore create: paddingIndex 2 is outside [0, 2)"}, padding.errLines());
    }

    @Test
    void wordsFileProblemsNameTheFileAndLine() throws IOException {
        Path words = tmp.resolve("w.txt");
        Files.writeString(words, "a\nb\na\n");
        CliRun duplicate = CliRun.of("create", tmp.resolve("s").toString(), "--words", words.toString(), "--dim", "2");
        assertEquals(ExitCode.USER_ERROR, duplicate.status());
        assertArrayEquals(new String[] {"embstore create: " + words
                + " line 3: duplicate word 'a' (first on line 1); words must be distinct"}, duplicate.errLines());

        Files.writeString(words, "a\n\nb\n");
        CliRun empty = CliRun.of("create", tmp.resolve("s").toString(), "--words", words.toString(), "--dim", "2");
        assertArrayEquals(new String[] {"embstore create: " + words + " line 2: empty line, expected a word"}, empty.errLines());

        Files.write(words, new byte[] {'a', '\n', (byte) 0xff, '\n'});
        CliRun latin = CliRun.of("create", tmp.resolve("s").toString(), "--words", words.toString(), "--dim", "2");
        assertEquals(ExitCode.USER_ERROR, latin.status());
        assertArrayEquals(new String[] {"embstore create: " + words + ": not UTF-8 text (words files must be UTF-8)"},
                latin.errLines());

        Path absent = tmp.resolve("absent.txt");
        CliRun missing = CliRun.of("create", tmp.resolve("s").toString(), "--words", absent.toString(), "--dim", "2");
        assertEquals(ExitCode.NOT_FOUND, missing.status());
        assertArrayEquals(new String[] {"embstore create: " + absent + ": no such words file"}, missing.errLines());

        Files.writeString(words, "a\nb\n");
        CliRun mismatch = CliRun.of("create", tmp.resolve("s").toString(), "--words", words.toString(), "--rows", "3",
                "--dim", "2");
        assertEquals(ExitCode.USER_ERROR, mismatch.status());
        assertTrue(mismatch.err().contains("--rows 3 differs from the 2 words in " + words), mismatch.err());
        assertFalse(Files.exists(tmp.resolve("s")));
    }
}
