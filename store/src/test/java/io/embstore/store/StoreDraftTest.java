package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreDraftTest {
    @TempDir
    Path tmp;

    private static MemorySegment utf8(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> contents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void parallelPutsCommitToAnExactlySizedStore() throws IOException {
        Path dir = tmp.resolve("d");
        int rows = 20_000;
        try (Draft d = EmbeddingStore.builder(dir).dim(7).dtype(Dtype.F16).draft()) {
            d.ensureCapacity(rows);
            d.ensureWordCapacity(rows * 20L);
            IntStream.range(0, rows).parallel().forEach(r -> {
                d.putRow(r, new float[] {r, 1, 2, 3, 4, 5, -r}, 0);
                d.putWord(r, utf8("word" + r));
            });
            assertEquals(rows, d.commit(rows, OnDuplicate.KEEP_FIRST, null));
        }
        assertEquals(1, contents(tmp).size(), "only the store, no temporary directory: " + contents(tmp));
        assertEquals(4096 + rows * 7L * 2, Files.size(dir.resolve("matrix.npy")), "trimmed to the rows");
        assertEquals(rows * 8L, Files.size(dir.resolve("vocab.offsets")));
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertEquals(rows, s.rows());
            float[] row = new float[7];
            for (int r = 0; r < rows; r += 997) {
                assertEquals(r, s.rowOf("word" + r));
                assertEquals("word" + r, s.word(r));
                s.read(r, row);
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(r)), row[0]);
            }
        }
    }

    @Test
    void duplicatesKeepFirstOrLastAndRowsCompact() {
        String[] words = {"a", "b", "a", "c", "b", "d"};
        for (OnDuplicate policy : OnDuplicate.values()) {
            Path dir = tmp.resolve(policy.name());
            List<String> heard = new ArrayList<>();
            try (Draft d = EmbeddingStore.builder(dir).dim(2).draft()) {
                d.ensureCapacity(words.length);
                d.ensureWordCapacity(100);
                for (int r = 0; r < words.length; r++) {
                    d.putRow(r, new float[] {r, r}, 0);
                    d.putWord(r, utf8(words[r]));
                }
                assertEquals(4, d.commit(words.length, policy, (w, first, dup) -> heard.add(w + ":" + first + ":" + dup)));
            }
            assertEquals(List.of("a:0:2", "b:1:4"), heard);
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                assertEquals(4, s.rows());
                assertEquals(List.of("a", "b", "c", "d"), List.of(s.word(0), s.word(1), s.word(2), s.word(3)));
                assertEquals(2, s.rowOf("c"));
                assertEquals(3, s.rowOf("d"));
                float[] v = new float[2];
                s.read(0, v);
                assertArrayEquals(policy == OnDuplicate.KEEP_FIRST ? new float[] {0, 0} : new float[] {2, 2}, v);
                s.read(1, v);
                assertArrayEquals(policy == OnDuplicate.KEEP_FIRST ? new float[] {1, 1} : new float[] {4, 4}, v);
                s.read(2, v);
                assertArrayEquals(new float[] {3, 3}, v, "c moved down from row 3");
                s.read(3, v);
                assertArrayEquals(new float[] {5, 5}, v, "d moved down from row 5");
            }
        }
    }

    @Test
    void aListenerThatThrowsAbortsAndLeavesNothing() throws IOException {
        Path dir = tmp.resolve("x");
        try (Draft d = EmbeddingStore.builder(dir).dim(1).draft()) {
            d.ensureCapacity(2);
            d.ensureWordCapacity(100);
            d.putWord(0, utf8("same"));
            d.putWord(1, utf8("same"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.commit(2, OnDuplicate.KEEP_FIRST,
                    (w, a, b) -> {
                        throw new IllegalStateException("dup " + w);
                    }));
            assertEquals("dup same", e.getMessage());
        }
        assertEquals(List.of(), contents(tmp));
    }

    @Test
    void closingWithoutCommitDeletesAndMissingWordsAreCaught() throws IOException {
        try (Draft d = EmbeddingStore.builder(tmp.resolve("y")).dim(3).rows(10).draft()) {
            d.putRow(3, new float[3], 0);
            assertEquals(1, contents(tmp).size());
        }
        assertEquals(List.of(), contents(tmp));
        try (Draft d = EmbeddingStore.builder(tmp.resolve("z")).dim(3).rows(3).draft()) {
            d.ensureWordCapacity(100);
            d.putWord(0, utf8("zero"));
            d.putWord(2, utf8("two"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.commit(3, OnDuplicate.KEEP_FIRST, null));
            assertEquals("row 1 has no word: putWord was not called for it", e.getMessage());
            assertThrows(IllegalStateException.class, () -> d.putRow(0, new float[3], 0), "a failed commit ends the draft");
        }
        assertEquals(List.of(), contents(tmp));
        try (Draft d = EmbeddingStore.builder(tmp.resolve("w")).dim(3).rows(1).draft()) {
            assertThrows(IllegalStateException.class, () -> d.putWord(0, utf8("big")), "no word capacity reserved");
            assertThrows(IndexOutOfBoundsException.class, () -> d.putRow(1, new float[3], 0));
        }
    }

    @Test
    void normsComputedAtCommitAnswerQueriesAsNormsComputedLater() throws IOException {
        int rows = 3000;
        int dim = 11;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        float[][] data = new float[rows][dim];
        for (float[] row : data) {
            for (int k = 0; k < dim; k++) {
                row[k] = (float) rnd.nextGaussian();
            }
        }
        for (boolean norms : new boolean[] {true, false}) {
            try (Draft d = EmbeddingStore.builder(tmp.resolve("n" + norms)).dim(dim).dtype(Dtype.F16).draft()) {
                d.ensureCapacity(rows);
                d.ensureWordCapacity(rows * 16L);
                for (int r = 0; r < rows; r++) {
                    d.putRow(r, data[r], 0);
                    d.putWord(r, utf8("w" + r));
                }
                d.computeNormsOnCommit(norms);
                d.commit(rows, OnDuplicate.KEEP_FIRST, null);
            }
            assertEquals(norms, Files.exists(tmp.resolve("n" + norms).resolve("norms.f32")));
        }
        assertEquals(rows * 4L, Files.size(tmp.resolve("ntrue").resolve("norms.f32")));
        try (EmbeddingStore with = EmbeddingStore.open(tmp.resolve("ntrue"));
             EmbeddingStore without = EmbeddingStore.open(tmp.resolve("nfalse"))) {
            for (String w : List.of("w0", "w17", "w2999")) {
                assertEquals(without.mostSimilar(w, 5), with.mostSimilar(w, 5), w);
            }
            // The norms computed as rows were put are the bits verify recomputes, and their checksum is recorded.
            Verification v = with.verify();
            assertTrue(v.ok() && v.checksumsChecked(), v.toString());
            assertTrue(StoreChecksums.read(tmp.resolve("ntrue")).containsKey(RowNorms.FILE));
        }
    }

    @Test
    void idTableDraftAndGrowth() {
        Path dir = tmp.resolve("ids");
        try (Draft d = EmbeddingStore.builder(dir).dim(4).vocabulary(false).draft()) {
            for (int r = 0; r < 1000; r++) {
                if (r == d.capacity()) {
                    d.ensureCapacity(Math.max(16, r * 2));
                }
                d.putRow(r, new float[] {r, r, r, r}, 0);
            }
            assertEquals(1000, d.commit(1000, OnDuplicate.KEEP_FIRST, null));
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertEquals(1000, s.rows());
            float[] v = new float[4];
            s.read(999, v);
            assertArrayEquals(new float[] {999, 999, 999, 999}, v);
            assertTrue(!s.hasVocabulary());
        }
    }

    private static long seed(String test) {
        String fixed = System.getenv("EMBSTORE_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : new java.util.SplittableRandom().nextLong();
        System.out.println(test + " seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        return seed;
    }

    private static long crc32c(byte[] bytes, int from, int to) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, from, to - from);
        return crc.getValue();
    }

    @Test
    void checksumsOfPiecesCombineIntoTheChecksumOfTheWhole() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed("checksumsOfPiecesCombine"));
        byte[] bytes = new byte[1 << 16];
        rnd.nextBytes(bytes);
        for (int trial = 0; trial < 200; trial++) {
            int a = rnd.nextInt(bytes.length + 1);
            int b = rnd.nextInt(bytes.length + 1);
            int from = Math.min(a, b);
            int cut = from + rnd.nextInt(Math.max(a, b) - from + 1);
            int to = Math.max(a, b);
            int combined = StoreChecksums.combine((int) crc32c(bytes, from, cut), (int) crc32c(bytes, cut, to), to - cut);
            assertEquals(crc32c(bytes, from, to), combined & 0xffffffffL, "[" + from + ", " + cut + ") + [" + cut + ", " + to + ")");
        }
        // Whole segments, cut into pieces on every core: sizes around the piece boundaries, and empty.
        byte[] big = new byte[(40 << 20) + 7];
        rnd.nextBytes(big);
        for (int size : new int[] {0, 1, 4096, 16 << 20, (16 << 20) + 1, (32 << 20) - 1, big.length}) {
            StoreChecksums.Entry e = StoreChecksums.compute(MemorySegment.ofArray(big).asSlice(0, size));
            assertEquals(size, e.size());
            assertEquals(crc32c(big, 0, size), e.crc(), "size " + size);
        }
    }

    /** Every file of a store directory, by name, as bytes. */
    private static java.util.Map<String, byte[]> files(Path dir) throws IOException {
        java.util.Map<String, byte[]> all = new java.util.TreeMap<>();
        for (String name : contents(dir)) {
            all.put(name, Files.readAllBytes(dir.resolve(name)));
        }
        return all;
    }

    private static void assertSameFiles(Path expected, Path actual) throws IOException {
        java.util.Map<String, byte[]> want = files(expected);
        java.util.Map<String, byte[]> got = files(actual);
        assertEquals(want.keySet(), got.keySet(), "the same files");
        for (String name : want.keySet()) {
            assertArrayEquals(want.get(name), got.get(name), name + " byte for byte");
        }
    }

    /**
     * Norms computed from the values as the rows are put, and everything else the commit writes, are byte for byte
     * what the commit writes when it computes norms from the stored matrix, whatever the dtype, duplicates and
     * padding row; and the same rows put in another order by several threads give the very same files.
     */
    @Test
    void normsAsRowsArePutAndAnyPutOrderGiveTheSameFiles() throws IOException {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed("normsAsRowsArePut"));
        int rows = 5000;
        int dim = 13;
        float[][] data = new float[rows][dim];
        String[] words = new String[rows];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < dim; k++) {
                data[r][k] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian()));
            }
            // Some words repeat, so that rows are dropped and moved.
            words[r] = "w" + (rnd.nextInt(10) == 0 ? rnd.nextInt(rows) : r);
        }
        for (Dtype dtype : Dtype.values()) {
            for (OnDuplicate policy : OnDuplicate.values()) {
                String name = dtype + "-" + policy;
                List<Path> made = new ArrayList<>();
                for (String how : List.of("late-norms", "early-norms", "parallel")) {
                    Path dir = tmp.resolve(name + "-" + how);
                    made.add(dir);
                    try (Draft d = EmbeddingStore.builder(dir).dim(dim).dtype(dtype).paddingIndex(3).draft()) {
                        d.ensureCapacity(rows + 100);
                        d.ensureWordCapacity(rows * 16L);
                        if (!how.equals("late-norms")) {
                            d.computeNormsOnCommit(true);
                        }
                        IntStream order = IntStream.range(0, rows);
                        if (how.equals("parallel")) {
                            order = IntStream.range(0, rows).map(i -> rows - 1 - i).parallel();
                        }
                        order.forEach(r -> {
                            d.putRow(r, data[r], 0);
                            d.putWord(r, utf8(words[r]));
                        });
                        if (how.equals("late-norms")) {
                            d.computeNormsOnCommit(true);
                        }
                        d.commit(rows, policy, null);
                    }
                }
                assertSameFiles(made.get(0), made.get(1));
                assertSameFiles(made.get(0), made.get(2));
                try (WritableStore s = EmbeddingStore.openForWriting(made.get(2))) {
                    Verification v = s.verify();
                    assertTrue(v.ok() && v.checksumsChecked(), name + ": " + v);
                }
            }
        }
    }

    @Test
    void normsAskedForThenNotLeaveNoFile() throws IOException {
        Path dir = tmp.resolve("no-norms");
        try (Draft d = EmbeddingStore.builder(dir).dim(2).vocabulary(false).draft()) {
            d.computeNormsOnCommit(true);
            d.ensureCapacity(3);
            for (int r = 0; r < 3; r++) {
                d.putRow(r, new float[] {r, 1}, 0);
            }
            d.computeNormsOnCommit(false);
            d.commit(3, OnDuplicate.KEEP_FIRST, null);
        }
        assertEquals(List.of("checksums.txt", "control.bin", "manifest.txt", "matrix.npy", "rows.seq", "writer.lock"),
                contents(dir));
    }
}
