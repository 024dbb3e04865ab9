package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caller tells errors apart by {@link StoreException#kind()}, never by message: a missing store, a missing file of a
 * store, a store another writer holds, a damaged file. (The other process's refusal is asserted in
 * {@link WriterLockTest}.)
 */
class StoreExceptionKindTest {
    @TempDir
    Path tmp;

    private Path create() {
        Path dir = tmp.resolve("s");
        EmbeddingStore.builder(dir).rows(4).vocabulary(false).dim(3).init(Init.zeros()).create().close();
        return dir;
    }

    @Test
    void aMissingStoreIsNotFound() {
        Path dir = tmp.resolve("absent");
        StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.open(dir).close());
        assertEquals(StoreException.Kind.NOT_FOUND, e.kind(), e.getMessage());
        assertEquals(dir, e.path());
        assertEquals(dir + ": no such store directory", e.getMessage(), "the message is unchanged");
    }

    @Test
    void aMissingFileOfAStoreIsNotFound() throws IOException {
        Path dir = create();
        Files.delete(dir.resolve(EmbeddingStore.MATRIX_FILE));
        StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.open(dir).close());
        assertEquals(StoreException.Kind.NOT_FOUND, e.kind(), e.getMessage());
    }

    /** A directory that is there but holds no manifest is not a store, as a file is not: the CLI's exit 1, not 3. */
    @Test
    void aDirectoryWithoutAManifestIsNotAStore() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.open(dir).close());
        assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage());
    }

    @Test
    void aSecondWriterIsLocked() {
        Path dir = create();
        try (WritableStore writer = EmbeddingStore.openForWriting(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir).close());
            assertEquals(StoreException.Kind.LOCKED, e.kind(), e.getMessage());
        }
    }

    @Test
    void aDamagedFileIsCorrupt() throws IOException {
        Path dir = create();
        Path manifest = dir.resolve(Manifest.FILE);
        Files.writeString(manifest, Files.readString(manifest).replace("dim=3", "dim=three"));
        StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.open(dir).close());
        assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("dim must be an integer"), e.getMessage());
    }

    @Test
    void aTruncatedMatrixIsCorrupt() throws IOException {
        Path dir = create();
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve(EmbeddingStore.MATRIX_FILE),
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.open(dir).close());
        assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage());
    }

    @Test
    void theKindOfACauseIsKept() {
        StoreException inner = new StoreException(StoreException.Kind.LOCKED, tmp, "held");
        assertEquals(StoreException.Kind.LOCKED, StoreException.Kind.of(new RuntimeException(inner)));
        assertEquals(StoreException.Kind.NO_SPACE, StoreException.Kind.of(
                new java.nio.file.FileSystemException("f", null, "No space left on device")));
        assertEquals(StoreException.Kind.IO, StoreException.Kind.of(new IOException("broken pipe")));
    }
}
