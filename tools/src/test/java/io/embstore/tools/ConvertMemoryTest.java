package io.embstore.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Conversion streams: a child JVM with a 128 MB heap converts a text file larger than that heap. */
class ConvertMemoryTest {
    @TempDir
    Path tmp;

    @Test
    void convertsAFileLargerThanItsHeap() throws IOException, InterruptedException {
        Path file = tmp.resolve("big.txt");
        int rows = 60_000;
        int dim = 300;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            byte[] value = " -0.1234".getBytes(StandardCharsets.US_ASCII);
            for (int r = 0; r < rows; r++) {
                out.write(("w" + r).getBytes(StandardCharsets.US_ASCII));
                for (int k = 0; k < dim; k++) {
                    value[7] = (byte) ('0' + (r + k) % 10);
                    out.write(value);
                }
                out.write('\n');
            }
        }
        long heap = 128L << 20;
        assertTrue(Files.size(file) > heap, "the input (" + Files.size(file) + " bytes) is larger than the heap");
        Path store = tmp.resolve("store");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(List.of(java, "-Xmx128m", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), EmbstoreCli.class.getName(), "convert", file.toString(),
                store.toString(), "--quiet"))
                .redirectErrorStream(true)
                .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished");
        assertEquals(0, p.exitValue(), output);
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            assertEquals(rows, s.rows());
            float[] v = new float[dim];
            s.read(rows - 1, v);
            assertEquals(-0.1239f, v[0]);
            assertEquals("w59999", s.word(rows - 1));
        }
    }
}
