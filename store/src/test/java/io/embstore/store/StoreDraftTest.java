package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore.Draft;
import io.embstore.store.EmbeddingStore.Dtype;
import io.embstore.store.EmbeddingStore.OnDuplicate;
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
}
