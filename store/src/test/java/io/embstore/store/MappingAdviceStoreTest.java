package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.embstore.store.io.MappingAdvice;
import io.embstore.store.io.Smaps;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The advice each mapping gets, read back from the kernel ({@code /proc/self/smaps}): random for the open store's
 * matrix and rows.seq (readers, the writer, after growth), sequential for a draft's matrix; and that a gather which
 * asks for its rows ahead returns exactly what row reads return.
 */
class MappingAdviceStoreTest {
    @TempDir
    Path tmp;

    private static void assertRandom(java.lang.foreign.MemorySegment mapping, String what) {
        var flags = Smaps.flags(mapping);
        assertTrue(flags.contains("rr"), what + " should be advised MADV_RANDOM, VmFlags " + flags);
        assertFalse(flags.contains("sr"), what + ": " + flags);
    }

    @Test
    void openStoresAdviseTheMatrixAndRowCountersRandom() {
        assumeTrue(MappingAdvice.available(), "madvise is unavailable here (not Linux)");
        Path dir = tmp.resolve("s");
        try (WritableStore writer = EmbeddingStore.builder(dir).rows(100).vocabulary(false).dim(64)
                .init(Init.normal(1)).create()) {
            assertRandom(writer.view.mapping().matrix(), "the writer's matrix");
            assertRandom(writer.view.mapping().seq(), "the writer's rows.seq");
            try (EmbeddingStore reader = EmbeddingStore.open(dir)) {
                assertRandom(reader.view.mapping().matrix(), "a reader's matrix");
                assertRandom(reader.view.mapping().seq(), "a reader's rows.seq");
                long capacity = writer.view.mapping().capacity();
                float[] row = new float[64];
                while (writer.view.mapping().capacity() == capacity) {
                    writer.appendRow(row);
                }
                assertRandom(writer.view.mapping().matrix(), "the writer's grown matrix");
                assertRandom(writer.view.mapping().seq(), "the writer's grown rows.seq");
                assertTrue(reader.refresh());
                assertRandom(reader.view.mapping().matrix(), "a reader's remapped matrix");
            }
        }
    }

    @Test
    void aDraftsMatrixIsAdvisedSequential() {
        assumeTrue(MappingAdvice.available(), "madvise is unavailable here (not Linux)");
        try (Draft d = EmbeddingStore.builder(tmp.resolve("d")).vocabulary(false).rows(1000).dim(16).draft()) {
            var flags = Smaps.flags(((StoreDraft) d).matrixMapping());
            assertTrue(flags.contains("sr"), "a draft's matrix is written front to back: " + flags);
        }
    }

    @Test
    void gathersThatAskAheadReturnTheRowsReadsReturn() {
        long seed = new SplittableRandom().nextLong();
        System.out.println("gathersThatAskAheadReturnTheRowsReadsReturn seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int dim = 37;
        int rows = 5003;
        for (Dtype dtype : new Dtype[] {Dtype.F32, Dtype.F16, Dtype.Q8}) {
            Path dir = tmp.resolve(dtype.label());
            try (WritableStore s = EmbeddingStore.builder(dir).rows(rows).vocabulary(false).dim(dim).dtype(dtype)
                    .init(Init.normal(seed)).create()) {
                s.gatherAlwaysAhead(true); // as on a cold table: the batch is asked for ahead from its second block
                int n = 2011; // several windows of GatherAhead, a partial last block
                int[] ids = random.ints(n, 0, rows).toArray();
                long[] longIds = java.util.Arrays.stream(ids).asLongStream().toArray();
                float[] expected = new float[n * dim];
                for (int i = 0; i < n; i++) {
                    s.read(ids[i], expected, i * dim, ReadMode.CONSISTENT);
                }
                for (ReadMode mode : ReadMode.values()) {
                    float[] got = new float[n * dim];
                    s.gather(ids, got, mode);
                    assertArrayEquals(expected, got, dtype + " " + mode + " int ids, seed " + seed);
                    float[] gotLong = new float[n * dim];
                    s.gather(longIds, gotLong, mode);
                    assertArrayEquals(expected, gotLong, dtype + " " + mode + " long ids, seed " + seed);
                }
            }
        }
    }

    @Test
    void willReadChecksItsRange() {
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("w")).rows(10).vocabulary(false).dim(4)
                .init(Init.zeros()).create()) {
            s.willRead(0, 10);
            s.willRead(3, 3);
            assertThrows(IndexOutOfBoundsException.class, () -> s.willRead(5, 11));
            assertThrows(IndexOutOfBoundsException.class, () -> s.willRead(-1, 2));
        }
    }
}
