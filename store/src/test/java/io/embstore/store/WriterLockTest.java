package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.JavaChild;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-writer lock holds against other processes for as long as its holder is open, whatever else this process does
 * with the lock file: a refused second writer in the same process, or code that opens and closes a descriptor of
 * {@code writer.lock} (which drops a POSIX {@code fcntl} lock of the whole process).
 */
class WriterLockTest {
    @TempDir
    Path tmp;

    @Test
    void aRefusedSecondWriterInTheSameProcessDoesNotReleaseTheFirstWritersLock() throws Exception {
        Path dir = tmp.resolve("s");
        EmbeddingStore.builder(dir).rows(4).vocabulary(false).dim(3).init(Init.zeros()).create().close();
        long pid = ProcessHandle.current().pid();
        try (WritableStore a = EmbeddingStore.openForWriting(dir)) {
            for (int attempt = 0; attempt < 2; attempt++) {
                StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir).close());
                assertTrue(e.getMessage().contains("already open for writing in this process (pid " + pid + ")"),
                        e.getMessage());
                assertEquals(StoreException.Kind.LOCKED, e.kind());
            }
            String refused = probe(dir);
            assertEquals("REFUSED", refused.split(" ")[0],
                    "another process must be refused while this process's writer is open: " + refused);
            assertTrue(refused.contains("pid " + pid), "the refusal names this process: " + refused);
            assertEquals("LOCKED", refused.split(" ")[1], "another process's refusal is of kind LOCKED: " + refused);
            a.write(1, new float[] {1, 2, 3});
            refused = probe(dir);
            assertEquals("REFUSED", refused.split(" ")[0], "still refused after more writes: " + refused);
        }
        assertEquals("LOCKED", probe(dir), "the lock is free once the writer closed");
    }

    /** Code that is not the store's opens and closes the lock file (a backup tool, a directory walk that reads files). */
    @Test
    void closingAnotherDescriptorOfTheLockFileDoesNotReleaseTheLock() throws Exception {
        Path dir = tmp.resolve("s");
        EmbeddingStore.builder(dir).rows(4).vocabulary(false).dim(3).init(Init.zeros()).create().close();
        try (WritableStore a = EmbeddingStore.openForWriting(dir)) {
            Path file = dir.resolve(WriterLock.FILE);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                assertTrue(ch.size() > 0, "the holder's pid is in the file");
            }
            assertEquals("pid=" + ProcessHandle.current().pid(), Files.readString(file, StandardCharsets.US_ASCII).strip());
            String refused = probe(dir);
            assertEquals("REFUSED", refused.split(" ")[0], "the lock must survive another descriptor's close: " + refused);
        }
        assertEquals("LOCKED", probe(dir));
    }

    /** Runs {@link WriterLockProbe} in a child JVM and returns the line it printed. */
    private static String probe(Path dir) throws IOException, InterruptedException {
        return JavaChild.of(WriterLockProbe.class, dir.toString()).jvm("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
                .run(Duration.ofSeconds(60)).strip();
    }
}
