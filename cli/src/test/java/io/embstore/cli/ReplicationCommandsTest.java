package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code publish} and {@code replicate} mistakes that need no broker: one line naming the problem, the right exit
 * status, no stack trace, nothing written. (The commands against a broker are the replication module's tests.)
 */
class ReplicationCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void aStoreThatIsNotAReplicaIsRefusedUntouched() throws Exception {
        Path store = tmp.resolve("s");
        EmbeddingStore.builder(store).words(List.of("cat", "dog")).dim(4).create().close();
        byte[] before = Files.readAllBytes(store.resolve("matrix.npy"));
        CliRun run = CliRun.of("replicate", "--bootstrap-servers", "127.0.0.1:1", "--topic", "t", "--once",
                store.toString());
        assertEquals(ExitCode.USER_ERROR, run.status(), run::toString);
        assertEquals("embstore replicate: " + store + " is a store but not a replica (no replica.state): replicate"
                + " into a new directory\n", run.err());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(store.resolve("matrix.npy"))));
        assertFalse(Files.exists(store.resolve("replica.state")));
    }

    @Test
    void aBadRowRangeIsAUsageError() {
        CliRun run = CliRun.of("replicate", "--bootstrap-servers", "127.0.0.1:1", "--topic", "t", "--rows", "9:3",
                tmp.resolve("r").toString());
        assertEquals(ExitCode.USAGE, run.status(), run::toString);
        assertTrue(run.err().startsWith("embstore replicate: --rows: row range must be A:B with 0 <= A < B"), run.err());
        assertFalse(Files.exists(tmp.resolve("r")));
    }

    @Test
    void publishingAMissingStoreIsNotFound() {
        CliRun run = CliRun.of("publish", tmp.resolve("nope").toString(), "--bootstrap-servers", "127.0.0.1:1",
                "--topic", "t");
        assertEquals(ExitCode.NOT_FOUND, run.status(), run::toString);
        assertFalse(run.err().contains("\tat "), run.err());
    }
}
