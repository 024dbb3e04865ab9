package io.embstore.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Java program converts and exports through {@link VectorFiles} alone: no CLI, no exit codes. */
class VectorFilesTest {
    private static final String TEXT = "3 4\n"
            + "the 0.5 -1.0 0.25 2.0\n"
            + "cat 1.5 0.0 -0.125 3.0\n"
            + "sat -2.5 4.0 0.75 -0.5\n";

    @TempDir
    Path tmp;

    @Test
    void convertsAFileIntoAStoreAndExportsTheStoreBackWithOptionsAndProgress() throws IOException {
        Path input = Files.writeString(tmp.resolve("small.vec"), TEXT);
        AtomicLong convertedRows = new AtomicLong();
        ConvertOptions options = ConvertOptions.builder()
                .format(VectorFormat.WORD2VEC)
                .threads(2)
                .progress((bytes, rows) -> convertedRows.addAndGet(rows))
                .build();
        ConversionSummary converted = VectorFiles.convert(input, tmp.resolve("store"), options);
        assertEquals(3, converted.rows());
        assertEquals(4, converted.dim());
        assertEquals(VectorFormat.WORD2VEC, converted.format());
        assertEquals(Dtype.F32, converted.dtype());
        assertEquals(3, convertedRows.get(), "the progress callback saw every row");

        try (EmbeddingStore store = EmbeddingStore.open(tmp.resolve("store"))) {
            assertEquals(1, store.rowOf("cat"));
            float[] cat = new float[4];
            store.read(1, cat);
            assertArrayEquals(new float[] {1.5f, 0.0f, -0.125f, 3.0f}, cat);

            AtomicLong exportedRows = new AtomicLong();
            Path out = tmp.resolve("back.vec");
            ExportSummary exported = VectorFiles.export(store, out, ExportOptions.builder()
                    .threads(2)
                    .progress((bytes, rows) -> exportedRows.addAndGet(rows))
                    .build());
            assertEquals(TEXT, Files.readString(out), "the round trip is exact");
            assertEquals(3, exported.rows());
            assertEquals(Files.size(out), exported.textBytes());
            assertEquals(Files.size(out), exported.writtenBytes());
            assertEquals(3, exportedRows.get());

            Path gz = tmp.resolve("some.txt.gz");
            ExportSummary some = VectorFiles.export(store, gz, ExportOptions.builder()
                    .format(VectorFormat.GLOVE)
                    .rows(RowSelection.of(new long[] {2, 1}))
                    .build());
            try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
                assertEquals("sat -2.5 4.0 0.75 -0.5\ncat 1.5 0.0 -0.125 3.0\n",
                        new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            assertEquals(2, some.rows());
            assertEquals(Files.size(gz), some.writtenBytes());
        }
    }

    @Test
    void optionsAreRecordsWithBuilders() {
        ConvertOptions defaults = ConvertOptions.defaults();
        assertEquals(null, defaults.format());
        assertEquals(Dtype.F32, defaults.dtype());
        assertEquals(ConvertOptions.Duplicates.FIRST, defaults.onDuplicate());
        assertEquals(-1, defaults.limit());
        ConvertOptions f16 = defaults.toBuilder().dtype(Dtype.F16).limit(10).build();
        assertEquals(Dtype.F16, f16.dtype());
        assertEquals(10, f16.limit());
        assertEquals(defaults.threads(), f16.threads());
        assertEquals(f16, f16.toBuilder().build());
        assertThrows(IllegalArgumentException.class, () -> ConvertOptions.builder().threads(0).build());
        assertEquals(VectorFormat.WORD2VEC, ExportOptions.defaults().format());
    }

    @Test
    void mistakesAreTheLibrarysOwnExceptionsNamingTheFile() throws IOException {
        Path missing = tmp.resolve("missing.vec");
        InputException notThere = assertThrows(InputException.class,
                () -> VectorFiles.convert(missing, tmp.resolve("a"), ConvertOptions.defaults()));
        assertEquals(missing, notThere.file());

        Path bad = Files.writeString(tmp.resolve("bad.vec"), "2 3\na 1 2 3\nb 1 x 3\n");
        InputException badNumber = assertThrows(InputException.class,
                () -> VectorFiles.convert(bad, tmp.resolve("b"), ConvertOptions.defaults()));
        assertEquals(bad, badNumber.file());
        assertEquals(3, badNumber.line());
        assertEquals(-1, badNumber.offset());
        assertTrue(badNumber.getMessage().startsWith(bad + ": line 3: "), badNumber.getMessage());
        assertFalse(Files.exists(tmp.resolve("b")), "nothing half-built is left");

        VectorFiles.convert(Files.writeString(tmp.resolve("ok.vec"), TEXT), tmp.resolve("store"),
                ConvertOptions.defaults());
        try (EmbeddingStore store = EmbeddingStore.open(tmp.resolve("store"))) {
            Path nowhere = tmp.resolve("no-such-dir").resolve("out.vec");
            OutputException noParent = assertThrows(OutputException.class,
                    () -> VectorFiles.export(store, nowhere, ExportOptions.defaults()));
            assertEquals(OutputException.Kind.NOT_FOUND, noParent.kind());
            assertEquals(nowhere, noParent.output());
            OutputException insideStore = assertThrows(OutputException.class,
                    () -> VectorFiles.export(store, tmp.resolve("store").resolve("x.vec"), ExportOptions.defaults()));
            assertEquals(OutputException.Kind.REFUSED, insideStore.kind());
        }
    }
}
