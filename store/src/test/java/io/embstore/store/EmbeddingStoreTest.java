package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore.Dtype;
import io.embstore.store.EmbeddingStore.Init;
import io.embstore.store.EmbeddingStore.ReadMode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class EmbeddingStoreTest {
    @TempDir
    Path tmp;

    static List<String> words(int n) {
        List<String> w = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            w.add(i % 7 == 0 ? "wörd-" + i : "w" + i);
        }
        return w;
    }

    @ParameterizedTest
    @EnumSource(Dtype.class)
    void createWriteReadAndReopen(Dtype dtype) {
        Path dir = tmp.resolve("s");
        int dim = 13;
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = 0.25f * i - 1;
        }
        try (EmbeddingStore s = EmbeddingStore.builder(dir).words(words(100)).dim(dim).dtype(dtype).init(Init.zeros()).create()) {
            assertEquals(100, s.rows());
            assertEquals(dim, s.dim());
            assertEquals(dtype, s.dtype());
            s.write(42, v);
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            float[] got = new float[dim];
            s.read(42, got);
            assertArrayEquals(v, got);
            s.read(41, got);
            assertArrayEquals(new float[dim], got);
            assertEquals(43, s.rowOf("w43"));
            assertEquals(42, s.rowOf("wörd-42"));
            assertEquals("wörd-7", s.word(7));
            assertEquals(7, s.rowOf("wörd-7"));
            assertEquals(-1, s.rowOf("absent"));
            assertFalse(s.contains("w100"));
        }
    }

    @Test
    void appendGrowsAndReadersRefresh() {
        Path dir = tmp.resolve("g");
        try (EmbeddingStore w = EmbeddingStore.builder(dir).words(words(3)).dim(4).init(Init.normal(1)).create();
             EmbeddingStore r = EmbeddingStore.open(dir)) {
            for (int i = 3; i < 5000; i++) {
                assertEquals(i, w.append("w" + i, new float[] {i, i, i, i}));
            }
            assertEquals(3, r.rows());
            assertEquals(-1, r.rowOf("w10"));
            assertTrue(r.refresh());
            assertEquals(5000, r.rows());
            assertEquals(4999, r.rowOf("w4999"));
            assertEquals("w1234", r.word(1234));
            float[] got = new float[4];
            r.read(4321, got);
            assertArrayEquals(new float[] {4321, 4321, 4321, 4321}, got);
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            assertEquals(5000, r.rows());
            assertEquals(2500, r.rowOf("w2500"));
        }
    }
}
