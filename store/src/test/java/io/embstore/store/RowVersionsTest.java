package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link EmbeddingStore#rowVersions()}: what a derived structure compares to find the rows written since. */
class RowVersionsTest {
    @TempDir
    Path tmp;

    @Test
    void aWriteChangesItsRowsVersionAloneAndAReaderSeesIt() {
        Path dir = tmp.resolve("s");
        try (WritableStore writer = EmbeddingStore.builder(dir).words(List.of("a", "b", "c")).dim(3).init(Init.zeros())
                .create();
             EmbeddingStore reader = EmbeddingStore.open(dir)) {
            MemorySegment versions = reader.rowVersions();
            assertEquals(3 * Integer.BYTES, versions.byteSize());
            assertTrue(versions.isReadOnly());
            int[] before = versions.toArray(RowSeqlock.INT);
            writer.write(1, new float[] {1, 2, 3});
            int[] after = reader.rowVersions().toArray(RowSeqlock.INT);
            assertEquals(before[0], after[0]);
            assertNotEquals(before[1], after[1]);
            assertEquals(0, after[1] & 1, "even once the write is done");
            assertEquals(before[2], after[2]);
            writer.append("d", new float[] {1, 1, 1});
            assertEquals(3 * Integer.BYTES, reader.rowVersions().byteSize(), "the reader's rows until it refreshes");
            reader.refresh();
            assertEquals(4 * Integer.BYTES, reader.rowVersions().byteSize());
        }
        EmbeddingStore closed = EmbeddingStore.open(dir);
        closed.close();
        assertThrows(IllegalStateException.class, closed::rowVersions);
    }
}
