package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import io.embstore.testkit.JavaChild;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversion streams: a child JVM with a 128 MB heap converts a file larger than that heap, both on the mapped path (a
 * plain text file) and on the streamed path (gzip-compressed text and binary, which {@code StreamingVectorReader} reads
 * one window at a time, growing the draft with the rows because a stream cannot be sized from its header).
 */
class ConvertMemoryTest {
    private static final long HEAP = 128L << 20;
    private static final int DIM = 300;

    @TempDir
    Path tmp;

    /** Runs {@code embstore convert IN STORE --quiet} in a child JVM with a {@link #HEAP} heap; fails unless it exits 0. */
    private static void convertInChild(Path in, Path store) throws IOException, InterruptedException {
        JavaChild.of(EmbstoreCli.class, "convert", in.toString(), store.toString(), "--quiet")
                .jvm("-Xmx" + (HEAP >> 20) + "m")
                .mergeStderr()
                .run(Duration.ofSeconds(300));
    }

    /** A gzip stream at the fastest level: the test is about the reader's memory, not the ratio. */
    private static OutputStream gzip(Path file) throws IOException {
        return new GZIPOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20), 1 << 16) {
            {
                def.setLevel(Deflater.BEST_SPEED);
            }
        };
    }

    @Test
    void convertsAFileLargerThanItsHeap() throws IOException, InterruptedException {
        Path file = tmp.resolve("big.txt");
        int rows = 60_000;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            byte[] value = " -0.1234".getBytes(StandardCharsets.US_ASCII);
            for (int r = 0; r < rows; r++) {
                out.write(("w" + r).getBytes(StandardCharsets.US_ASCII));
                for (int k = 0; k < DIM; k++) {
                    value[7] = (byte) ('0' + (r + k) % 10);
                    out.write(value);
                }
                out.write('\n');
            }
        }
        assertTrue(Files.size(file) > HEAP, "the input (" + Files.size(file) + " bytes) is larger than the heap");
        Path store = tmp.resolve("store");
        convertInChild(file, store);
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            assertEquals(rows, s.rows());
            float[] v = new float[DIM];
            s.read(rows - 1, v);
            assertEquals(-0.1239f, v[0]);
            assertEquals("w59999", s.word(rows - 1));
        }
    }

    /** The text of value {@code k} of row {@code r}: a sign, "0." and four digits that vary with both. */
    private static String textValue(int r, int k) {
        int n = (int) Math.floorMod(r * 7919L + k * 104_729L, 19_999L) - 9_999;
        String digits = Integer.toString(10_000 + Math.abs(n)).substring(1);
        return (n < 0 ? "-0." : "0.") + digits;
    }

    @Test
    void streamsAGzipTextFileLargerThanItsHeap() throws IOException, InterruptedException {
        Path file = tmp.resolve("big.vec.gz");
        int rows = 60_000;
        long uncompressed = 0;
        try (OutputStream out = gzip(file)) {
            byte[] header = (rows + " " + DIM + "\n").getBytes(StandardCharsets.US_ASCII);
            out.write(header);
            uncompressed += header.length;
            StringBuilder line = new StringBuilder(DIM * 9);
            for (int r = 0; r < rows; r++) {
                line.setLength(0);
                line.append("w").append(r);
                for (int k = 0; k < DIM; k++) {
                    line.append(' ').append(textValue(r, k));
                }
                line.append('\n');
                byte[] bytes = line.toString().getBytes(StandardCharsets.US_ASCII);
                out.write(bytes);
                uncompressed += bytes.length;
            }
        }
        assertTrue(uncompressed > HEAP, "the uncompressed input (" + uncompressed + " bytes) is larger than the heap");
        Path store = tmp.resolve("store");
        convertInChild(file, store);
        assertSampledRows(store, rows, (r, k) -> Float.parseFloat(textValue(r, k)));
    }

    /**
     * Value {@code k} of row {@code r}: a float in [-1, 1), exact (a multiple of 2^-22), different in every row.
     * Periodic in {@code k}, so that gzip compresses it quickly.
     */
    private static float binaryValue(int r, int k) {
        return (Math.floorMod(r * 7919L + k * 104_729L, 8_388_593L) - 4_194_296) / 4_194_304f;
    }

    @Test
    void streamsAGzipBinaryFileLargerThanItsHeap() throws IOException, InterruptedException {
        Path file = tmp.resolve("big.bin.gz");
        int rows = 120_000;
        long uncompressed = 0;
        try (OutputStream out = gzip(file)) {
            byte[] header = (rows + " " + DIM + "\n").getBytes(StandardCharsets.US_ASCII);
            out.write(header);
            uncompressed += header.length;
            ByteBuffer values = ByteBuffer.allocate(DIM * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < rows; r++) {
                byte[] word = ("w" + r + " ").getBytes(StandardCharsets.US_ASCII);
                out.write(word);
                values.clear();
                for (int k = 0; k < DIM; k++) {
                    values.putFloat(binaryValue(r, k));
                }
                out.write(values.array());
                out.write('\n');
                uncompressed += word.length + values.capacity() + 1;
            }
        }
        assertTrue(uncompressed > HEAP, "the uncompressed input (" + uncompressed + " bytes) is larger than the heap");
        Path store = tmp.resolve("store");
        convertInChild(file, store);
        assertSampledRows(store, rows, ConvertMemoryTest::binaryValue);
    }

    /** What row {@code r}, value {@code k} of a generated file must read as. */
    private interface Expected {
        float value(int r, int k);
    }

    /** Rows at the ends, around the reader's 4096-row boundary and in the middle: words, lookups and every value. */
    private static void assertSampledRows(Path store, int rows, Expected expected) {
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            assertEquals(rows, s.rows());
            float[] got = new float[DIM];
            float[] want = new float[DIM];
            for (int r : new int[] {0, 1, 4095, 4096, rows / 2, rows - 2, rows - 1}) {
                for (int k = 0; k < DIM; k++) {
                    want[k] = expected.value(r, k);
                }
                s.read(r, got);
                assertArrayEquals(want, got, "row " + r);
                assertEquals("w" + r, s.word(r));
                assertEquals(r, s.rowOf("w" + r));
            }
        }
    }
}
