package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.formats.BinaryVectorReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parallel readers on inputs big enough for many blocks or chunks: the same store whatever the thread count
 * (and as the one-thread gzip stream reads it), and the error earliest in the file reported whichever thread found it.
 */
class ParallelConvertTest {
    @TempDir
    Path tmp;

    private static long seed() {
        String fixed = System.getenv("EMBSTORE_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
        System.out.println("ParallelConvertTest seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        return seed;
    }

    private record Row(String word, float[] values) {
    }

    /** Finite floats from random bit patterns: their bytes include spaces and newlines. */
    private static float finite(SplittableRandom rnd) {
        while (true) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isFinite(f)) {
                return f;
            }
        }
    }

    /** Writes a word2vec binary file of these rows, a newline after a vector or not at random; returns row offsets. */
    private static long[] writeBinary(Path file, List<Row> rows, int dim, SplittableRandom rnd) throws IOException {
        long[] offsets = new long[rows.size()];
        try (OutputStream os = Files.newOutputStream(file)) {
            byte[] header = (rows.size() + " " + dim + "\n").getBytes(StandardCharsets.US_ASCII);
            os.write(header);
            long at = header.length;
            ByteBuffer v = ByteBuffer.allocate(4 * dim).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < rows.size(); r++) {
                offsets[r] = at;
                byte[] w = rows.get(r).word().getBytes(StandardCharsets.UTF_8);
                os.write(w);
                os.write(' ');
                v.clear();
                for (float f : rows.get(r).values()) {
                    v.putFloat(f);
                }
                os.write(v.array());
                at += w.length + 1 + 4L * dim;
                if (rnd.nextBoolean()) {
                    os.write('\n');
                    at++;
                }
            }
        }
        return offsets;
    }

    private static List<Row> randomRows(int count, int dim, SplittableRandom rnd) {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            float[] v = new float[dim];
            for (int k = 0; k < dim; k++) {
                v[k] = finite(rnd);
            }
            rows.add(new Row((r % 7 == 0 ? "wörd" : "w") + r, v));
        }
        return rows;
    }

    private static CliRun convert(Path in, Path store, String... options) {
        List<String> args = new ArrayList<>(List.of("convert", in.toString(), store.toString(), "--quiet"));
        args.addAll(List.of(options));
        return CliRun.of(args.toArray(String[]::new));
    }

    private static void assertHolds(Path store, List<Row> rows) {
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            assertEquals(rows.size(), s.rows());
            float[] got = new float[s.dim()];
            for (int r = 0; r < rows.size(); r++) {
                assertEquals(rows.get(r).word(), s.word(r));
                s.read(r, got);
                for (int k = 0; k < got.length; k++) {
                    assertEquals(Float.floatToRawIntBits(rows.get(r).values()[k]), Float.floatToRawIntBits(got[k]),
                            "row " + r + " value " + k);
                }
            }
        }
    }

    private static void assertNothingLeft(Path dir) throws IOException {
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "no store and no temporary directory left");
        }
    }

    @Test
    void binaryBlocksGiveTheFilesRowsWhateverTheThreads() throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed());
        int dim = 7;
        List<Row> rows = randomRows(3 * BinaryVectorReader.BLOCK_ROWS + 123, dim, rnd);
        Path file = tmp.resolve("many.bin");
        writeBinary(file, rows, dim, rnd);
        for (String threads : List.of("1", "2", "5")) {
            Path store = tmp.resolve("t" + threads);
            CliRun run = convert(file, store, "--threads", threads);
            assertEquals(0, run.status(), run.toString());
            assertHolds(store, rows);
        }
        Path gz = tmp.resolve("many.bin.gz");
        try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(gz))) {
            Files.copy(file, os);
        }
        assertEquals(0, convert(gz, tmp.resolve("gz")).status());
        assertHolds(tmp.resolve("gz"), rows);
        CliRun limited = convert(file, tmp.resolve("limited"), "--limit", "5000");
        assertEquals(0, limited.status(), limited.toString());
        assertHolds(tmp.resolve("limited"), rows.subList(0, 5000));
    }

    @Test
    void binaryErrorsComeOutInFileOrder() throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed());
        int dim = 5;
        int n = 3 * BinaryVectorReader.BLOCK_ROWS;
        // A NaN in the last block, an invalid word in the second: the word is reported, whichever thread sees what.
        List<Row> rows = randomRows(n, dim, rnd);
        rows.get(n - 10).values()[2] = Float.NaN;
        Path failed = Files.createDirectory(tmp.resolve("failed"));
        Path file = tmp.resolve("two-errors.bin");
        long[] offsets = writeBinary(file, rows, dim, rnd);
        byte[] bytes = Files.readAllBytes(file);
        int bad = BinaryVectorReader.BLOCK_ROWS + 17;
        bytes[(int) offsets[bad]] = (byte) 0xff;
        Files.write(file, bytes);
        for (String threads : List.of("1", "3")) {
            CliRun run = convert(file, failed.resolve("s" + threads), "--threads", threads);
            assertEquals(1, run.status(), run.toString());
            assertTrue(run.toString().contains("byte offset " + offsets[bad] + ": row " + (bad + 1) + ": the word is not valid UTF-8"),
                    run.toString());
        }
        // A NaN early and a truncated end: the NaN, found by the copy, wins over the end, found by the walk first.
        Path truncated = tmp.resolve("nan-and-truncated.bin");
        List<Row> rows2 = randomRows(n, dim, rnd);
        rows2.get(100).values()[0] = Float.POSITIVE_INFINITY;
        long[] offsets2 = writeBinary(truncated, rows2, dim, rnd);
        byte[] all = Files.readAllBytes(truncated);
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length - 3));
        CliRun run = convert(truncated, failed.resolve("t"), "--threads", "2");
        assertEquals(1, run.status(), run.toString());
        long valueAt = offsets2[100] + rows2.get(100).word().getBytes(StandardCharsets.UTF_8).length + 1;
        assertTrue(run.toString().contains("byte offset " + valueAt + ": row 101, value 1 is Infinity"), run.toString());
        assertNothingLeft(failed);
    }

    /** A GloVe text file of these rows, values as Float.toString writes them. */
    private static List<Row> writeText(Path file, int count, int dim, SplittableRandom rnd) throws IOException {
        List<Row> rows = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        try (var w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int r = 0; r < count; r++) {
                float[] v = new float[dim];
                b.setLength(0);
                b.append("w").append(r);
                for (int k = 0; k < dim; k++) {
                    v[k] = (float) (rnd.nextGaussian() * 0.4);
                    b.append(' ').append(Float.toString(v[k]));
                }
                rows.add(new Row("w" + r, v));
                w.append(b).append(r % 11 == 0 ? "\n\n" : "\n");
            }
        }
        return rows;
    }

    @Test
    void textChunksAreNumberedInFileOrderAndTheFirstBadLineWins() throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed());
        Path file = tmp.resolve("chunks.txt");
        List<Row> rows = writeText(file, 40_000, 40, rnd);
        assertTrue(Files.size(file) > 3L * (1 << 20), "several chunks");
        for (String threads : List.of("1", "3")) {
            assertEquals(0, convert(file, tmp.resolve("g" + threads), "--threads", threads).status());
            assertHolds(tmp.resolve("g" + threads), rows);
        }
        assertEquals(0, convert(file, tmp.resolve("limit"), "--limit", "12345", "--threads", "2").status());
        assertHolds(tmp.resolve("limit"), rows.subList(0, 12_345));

        // Two bad lines far apart: the earlier is reported, by line number.
        Path failed = Files.createDirectory(tmp.resolve("failed"));
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        int late = lines.size() - 50;
        int early = lines.size() / 3;
        while (lines.get(late).isEmpty() || lines.get(early).isEmpty()) {
            late++;
            early++;
        }
        lines.set(late, "late 1 2");
        lines.set(early, "early x " + "0.5 ".repeat(39).strip());
        Path bad = tmp.resolve("two-bad.txt");
        Files.write(bad, lines, StandardCharsets.UTF_8);
        for (String threads : List.of("1", "3")) {
            CliRun run = convert(bad, failed.resolve("b" + threads), "--threads", threads);
            assertEquals(1, run.status(), run.toString());
            assertTrue(run.toString().contains("line " + (early + 1) + ":"), run.toString());
        }

        // With a header that claims more rows than there are, the count is the error, as before any parse error.
        List<String> headed = new ArrayList<>();
        headed.add("50000 40");
        headed.addAll(lines);
        Path short_ = tmp.resolve("short.txt");
        Files.write(short_, headed, StandardCharsets.UTF_8);
        CliRun run = convert(short_, failed.resolve("short"), "--format", "word2vec");
        assertEquals(1, run.status(), run.toString());
        assertTrue(run.toString().contains("the header declares 50000 rows, but the file has only 40000"), run.toString());
        assertNothingLeft(failed);
    }

    /** Every file of a store directory, by name, as bytes. */
    private static java.util.Map<String, byte[]> files(Path dir) throws IOException {
        java.util.Map<String, byte[]> all = new java.util.TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : list.toList()) {
                all.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return all;
    }

    /**
     * Converting the same file again, on several threads, gives the same store byte for byte, every file of it (the
     * word records too, whatever order the threads finished in), and so does one thread.
     */
    @Test
    void theSameInputGivesByteIdenticalStores() throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed());
        Path text = tmp.resolve("same.txt");
        writeText(text, 40_000, 40, rnd);
        Path binary = tmp.resolve("same.bin");
        List<Row> rows = randomRows(5 * BinaryVectorReader.BLOCK_ROWS + 77, 9, rnd);
        // Duplicate words: dropped rows and moved rows must not make a difference either.
        for (int r = 0; r < rows.size(); r += 101) {
            rows.set(r, new Row(rows.get(rnd.nextInt(rows.size())).word(), rows.get(r).values()));
        }
        writeBinary(binary, rows, 9, rnd);
        for (Path in : List.of(text, binary)) {
            java.util.Map<String, byte[]> first = null;
            for (String threads : List.of("3", "3", "2", "1")) {
                Path store = tmp.resolve(in.getFileName() + "-" + threads + "-" + rnd.nextInt(1_000_000));
                CliRun run = convert(in, store, "--threads", threads, "--on-duplicate", "last");
                assertEquals(0, run.status(), run.toString());
                java.util.Map<String, byte[]> got = files(store);
                assertTrue(got.containsKey("vocab.words") && got.containsKey("norms.f32"), got.keySet().toString());
                if (first == null) {
                    first = got;
                    continue;
                }
                assertEquals(first.keySet(), got.keySet(), in + " with " + threads + " threads: the same files");
                for (String name : first.keySet()) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(first.get(name), got.get(name),
                            in.getFileName() + " with " + threads + " threads: " + name + " byte for byte");
                }
            }
        }
    }
}
