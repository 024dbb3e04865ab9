package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.formats.PrintableText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Awkward words through every export format and back through {@code convert}: either the same words and the same
 * vectors bit for bit, or a refusal before anything is written that names the row and the word. Which words each
 * format can carry is written out here by hand, from what the readers do, not computed by the code under test.
 */
class ExportedWordsTest {
    @TempDir
    Path tmp;

    private static final String TEXT = "text";
    private static final String BINARY = "binary";

    /** A word and whether the text formats and word2vec binary can carry it. */
    private record Case(String word, boolean text, boolean binary) {
    }

    /** Words a words file can hold (one a line), created with {@code create --words}. */
    private static final List<Case> FROM_WORDS_FILE = List.of(
            new Case("new york", true, false),
            new Case("x  two  spaces", true, false),
            new Case("tab\tinside", true, true),
            new Case(" leading", false, false),
            new Case("trailing ", false, false),
            new Case("\tleading-tab", false, true),
            new Case("trailing-tab\t", false, true),
            new Case("naïve", true, true),
            new Case("é 語 ü", true, false),
            new Case("route 66 north", true, false),
            new Case("a nan b", true, false),
            new Case("a inf", false, false),
            new Case("1 2", false, false),
            new Case("word 3.5", false, false),
            new Case("2010", true, true),
            new Case("bell\u0007", false, true),
            new Case("ends in 7", true, false));

    /** Words only the library can put in a store. */
    private static final List<Case> FROM_LIBRARY = List.of(
            new Case("", false, false),
            new Case("line\nbreak", false, true),
            new Case("\nstarts-with-newline", false, false),
            new Case("carriage\rreturn", false, true));

    private static final float[][] VECTORS = {
        {0.0005592f, -1.5e-5f, 12345678f},
        {Float.MIN_VALUE, -0.0f, 3.4028235e38f},
        {1f, -2.5f, 0.1f}};

    @Test
    void everyFormatWritesAWordBackUnchangedOrRefusesIt() throws IOException {
        List<Case> all = new ArrayList<>(FROM_WORDS_FILE);
        all.addAll(FROM_LIBRARY);
        int n = 0;
        for (Case c : all) {
            for (int at = 0; at < 2; at++) {
                Path store = store(c, at, FROM_LIBRARY.contains(c), n++);
                for (String format : List.of("word2vec", "glove", "word2vec-binary")) {
                    boolean firstGloveLineEndsInNumber = format.equals("glove") && at == 0 && c.word().equals("ends in 7");
                    boolean carried = format.equals("word2vec-binary") ? c.binary() : c.text() && !firstGloveLineEndsInNumber;
                    roundTrip(store, c.word(), at, format, carried);
                }
            }
        }
    }

    /** A store of three rows whose row {@code at} has the word; through {@code create --words} where a file can. */
    private Path store(Case c, int at, boolean library, int n) throws IOException {
        List<String> words = new ArrayList<>(List.of("first", "last"));
        words.add(at, c.word());
        Path dir = tmp.resolve("s" + n);
        if (library) {
            EmbeddingStore.builder(dir).words(words).dim(3).init(Init.zeros()).create().close();
        } else {
            Path file = Files.writeString(tmp.resolve("words" + n + ".txt"), String.join("\n", words) + "\n",
                    StandardCharsets.UTF_8);
            CliRun run = CliRun.of("create", dir.toString(), "--words", file.toString(), "--dim", "3");
            assertEquals(0, run.status(), run.toString());
        }
        try (WritableStore s = EmbeddingStore.openForWriting(dir)) {
            assertEquals(words.get(at), s.word(at), "the store holds the word as given");
            for (int r = 0; r < 3; r++) {
                s.write(r, VECTORS[r]);
            }
        }
        return dir;
    }

    private void roundTrip(Path store, String word, int at, String format, boolean carried) throws IOException {
        String what = "'" + PrintableText.escape(word) + "' at row " + at + " as " + format;
        Path out = tmp.resolve(store.getFileName() + "-" + format + ".out");
        CliRun export = CliRun.of("export", store.toString(), out.toString(), "--format", format, "--quiet");
        if (!carried) {
            assertEquals(ExitCode.USER_ERROR, export.status(), what + " must be refused: " + export);
            assertTrue(export.err().contains("row " + at + ": the word '" + PrintableText.escape(word) + "'"),
                    what + ": the error names the row and the word: " + export.err());
            assertTrue(export.err().contains(format), what + ": the error names the format: " + export.err());
            assertFalse(Files.exists(out), what + ": nothing written");
            try (Stream<Path> left = Files.list(tmp)) {
                assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".tmp")), "no temporary file left");
            }
            return;
        }
        assertEquals(0, export.status(), what + " must be exported: " + export);
        // Detected, as a user would convert it, and named.
        for (List<String> how : List.of(List.<String>of(), List.of("--format", format))) {
            Path back = tmp.resolve(out.getFileName() + "-back" + how.size());
            List<String> args = new ArrayList<>(List.of("convert", out.toString(), back.toString(), "--quiet"));
            args.addAll(how);
            CliRun convert = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, convert.status(), what + ", converted back " + how + ": " + convert);
            try (EmbeddingStore a = EmbeddingStore.open(store); EmbeddingStore b = EmbeddingStore.open(back)) {
                assertEquals(3, b.rows(), what);
                float[] u = new float[3];
                float[] v = new float[3];
                for (long r = 0; r < 3; r++) {
                    assertEquals(a.word(r), b.word(r), what + ", converted back " + how + ": row " + r);
                    a.read(r, u);
                    b.read(r, v);
                    for (int k = 0; k < 3; k++) {
                        assertEquals(Float.floatToRawIntBits(u[k]), Float.floatToRawIntBits(v[k]), what + ": row " + r);
                    }
                }
            }
        }
    }
}
