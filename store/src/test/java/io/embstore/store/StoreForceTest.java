package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EmbeddingStore#force(long, long)}: a row range of the matrix made durable. Whether the pages reached the disk
 * cannot be observed without pulling the power; what is tested is that the call accepts exactly the ranges it should,
 * that it refuses a read-only store, and that the bytes in the file (read with a plain channel, not the mapping) are
 * the rows written, at the offsets FORMAT.md gives.
 */
class StoreForceTest {
    @TempDir
    Path tmp;

    @Test
    void forcesRowRangesAndChecksBounds() throws IOException {
        Path dir = tmp.resolve("s");
        int dim = 7;
        try (WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(1000).dim(dim).dtype(Dtype.F32).init(Init.zeros()).create()) {
            float[] v = new float[dim];
            for (int r : new int[] {0, 1, 585, 586, 999}) {
                for (int i = 0; i < dim; i++) {
                    v[i] = r + i / 8f;
                }
                s.write(r, v);
            }
            long generation = s.generation();
            s.force(0, 2);
            s.force(585, 587);
            s.force(999, 1000);
            s.force(0, 1000);
            s.force(5, 5);
            assertEquals(generation, s.generation(), "force does not publish");
            assertThrows(IndexOutOfBoundsException.class, () -> s.force(-1, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> s.force(3, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> s.force(0, 1001));

            try (FileChannel ch = FileChannel.open(dir.resolve(EmbeddingStore.MATRIX_FILE), StandardOpenOption.READ)) {
                ByteBuffer row = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(row, NpyHeader.BYTES + 586L * dim * 4);
                row.flip();
                float[] got = new float[dim];
                row.asFloatBuffer().get(got);
                float[] want = new float[dim];
                for (int i = 0; i < dim; i++) {
                    want[i] = 586 + i / 8f;
                }
                assertArrayEquals(want, got);
            }
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            // Only a writer forces rows: a reader's type has no force (it used to throw IllegalStateException).
            assertFalse(r instanceof WritableStore);
        }
    }
}
