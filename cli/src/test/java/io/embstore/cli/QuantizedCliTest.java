package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.WritableStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@code convert}, {@code create}, {@code info}, {@code verify} and {@code export} with the quantized dtypes. */
class QuantizedCliTest {
    private static final int ROWS = 40;
    private static final int DIM = 11;

    @TempDir
    Path tmp;

    private static CliRun ok(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(ExitCode.OK, run.status(), run.toString());
        return run;
    }

    private Path vectorFile(String name, float special) throws Exception {
        SplittableRandom random = new SplittableRandom(ROWS);
        StringBuilder b = new StringBuilder(ROWS + " " + DIM + "\n");
        for (int r = 0; r < ROWS; r++) {
            b.append("word").append(r);
            for (int i = 0; i < DIM; i++) {
                float v = r == 7 && i == 3 ? special : (float) random.nextGaussian();
                b.append(' ').append(String.format(Locale.ROOT, "%.6f", v));
            }
            b.append('\n');
        }
        Path file = tmp.resolve(name);
        Files.writeString(file, b, StandardCharsets.UTF_8);
        return file;
    }

    /** The rows of a store, read as float32. */
    private static float[][] rows(Path dir) {
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            float[][] out = new float[(int) s.rows()][s.dim()];
            for (int r = 0; r < out.length; r++) {
                s.read(r, out[r]);
            }
            return out;
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void convertFromAFileAndFromAStoreGiveTheSameQuantizedRows(Dtype dtype) throws Exception {
        Path vec = vectorFile("v.vec", 0.5f);
        Path f32 = tmp.resolve("f32");
        Path direct = tmp.resolve("direct");
        Path fromStore = tmp.resolve("from-store");
        ok("convert", vec.toString(), f32.toString(), "-q");
        ok("convert", vec.toString(), direct.toString(), "--dtype", dtype.label(), "-q");
        CliRun copied = ok("convert", f32.toString(), fromStore.toString(), "--dtype", dtype.label(), "--json");
        assertEquals(dtype.label(), copied.json().get("dtype").asText());
        assertEquals(ROWS, copied.json().get("rows").asInt());

        float[][] exact = rows(f32);
        float[][] a = rows(direct);
        float[][] b = rows(fromStore);
        for (int r = 0; r < ROWS; r++) {
            assertArrayEquals(a[r], b[r], "row " + r + ": both conversions quantize the same float32 values");
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (float x : exact[r]) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            // Half a step of the row's range, plus q4's binary16 rounding of its scale and bias.
            double bound = (max - min) / (dtype == Dtype.Q8 ? 255.0 : 15.0) * 0.5 * 1.01 + 1e-3 * Math.abs(min) + 1e-6;
            for (int i = 0; i < DIM; i++) {
                assertTrue(Math.abs(exact[r][i] - a[r][i]) <= bound, "row " + r + " col " + i + ": " + exact[r][i]
                        + " vs " + a[r][i]);
            }
        }
        try (EmbeddingStore s = EmbeddingStore.open(fromStore); EmbeddingStore d = EmbeddingStore.open(direct)) {
            assertEquals(dtype, s.dtype());
            for (int r = 0; r < ROWS; r++) {
                assertEquals(d.word(r), s.word(r));
            }
        }

        CliRun info = ok("info", fromStore.toString(), "--json");
        assertEquals(dtype.label(), info.json().get("dtype").asText());
        assertEquals(dtype.rowBytes(DIM), info.json().get("row_bytes").asLong());
        assertTrue(ok("info", fromStore.toString()).out().contains("dtype       " + dtype.label() + " (row-wise quantized, "
                + dtype.rowBytes(DIM) + " bytes a row, read as float32)"));
        ok("verify", fromStore.toString());
        ok("verify", direct.toString());
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void exportOfAQuantizedStoreWritesItsFloat32Reads(Dtype dtype) throws Exception {
        Path store = tmp.resolve("q");
        ok("convert", vectorFile("v.vec", 0.25f).toString(), store.toString(), "--dtype", dtype.label(), "-q");
        float[][] expected = rows(store);
        for (String format : List.of("word2vec", "glove", "word2vec-binary")) {
            Path out = tmp.resolve("out-" + format);
            ok("export", store.toString(), out.toString(), "--format", format, "-q");
            Path again = tmp.resolve("again-" + format);
            ok("convert", out.toString(), again.toString(), "--format", format, "-q");
            float[][] exported = rows(again);
            for (int r = 0; r < ROWS; r++) {
                assertArrayEquals(expected[r], exported[r], format + " row " + r + ": export writes the dequantized values exactly");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void createMakesAQuantizedStore(Dtype dtype) {
        Path store = tmp.resolve("created");
        ok("create", store.toString(), "--rows", "100", "--dim", "33", "--dtype", dtype.label());
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            assertEquals(dtype, s.dtype());
            assertEquals(100, s.rows());
        }
        ok("verify", store.toString());
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void rowsTheDtypeCannotHoldAreOneLineErrorsAndLeaveNoStore(Dtype dtype) throws Exception {
        Path nan = vectorFile("nan.vec", Float.NaN);
        CliRun refused = CliRun.of("convert", nan.toString(), tmp.resolve("a").toString(), "--dtype", dtype.label(),
                "--allow-nonfinite", "-q");
        assertEquals(ExitCode.USAGE, refused.status(), refused.toString());
        assertEquals(1, refused.errLines().length, refused.toString());
        assertTrue(refused.err().contains("--allow-nonfinite cannot be used with --dtype " + dtype.label()), refused.err());
        assertFalse(Files.exists(tmp.resolve("a")));

        // An f32 store may hold NaN; quantizing it names the store and the row.
        Path f32 = tmp.resolve("f32");
        List<String> words = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            words.add("w" + r);
        }
        try (WritableStore s = EmbeddingStore.builder(f32).words(words).dim(2).init(Init.zeros()).create()) {
            s.write(1, new float[] {1, Float.POSITIVE_INFINITY});
        }
        Path q = tmp.resolve("q");
        CliRun copy = CliRun.of("convert", f32.toString(), q.toString(), "--dtype", dtype.label(), "-q");
        assertEquals(ExitCode.USER_ERROR, copy.status(), copy.toString());
        assertEquals(1, copy.errLines().length, copy.toString());
        assertTrue(copy.err().contains(f32.toString()) && copy.err().contains("row 1 has the value Infinity at column 1"),
                copy.err());
        assertFalse(Files.exists(q), "nothing is left behind");
        try (var left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".q")), "no temporary left behind");
        }

        CliRun wrongOption = CliRun.of("convert", f32.toString(), q.toString(), "--dtype", dtype.label(), "--limit", "2");
        assertEquals(ExitCode.USAGE, wrongOption.status(), wrongOption.toString());
        assertTrue(wrongOption.err().contains("--limit applies to vector files"), wrongOption.err());
    }
}
