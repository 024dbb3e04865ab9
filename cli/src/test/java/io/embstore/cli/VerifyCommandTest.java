package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifyCommandTest {
    @TempDir
    Path tmp;

    @Test
    void aSoundStorePassesAndADamagedOneFailsNamingTheFile() throws IOException {
        Path store = tmp.resolve("s");
        CliRun made = CliRun.of("convert", SharedData.file("lee_fasttext.vec").toString(), store.toString(), "--quiet");
        assertEquals(0, made.status(), made.toString());
        CliRun ok = CliRun.of("verify", store.toString(), "--json");
        assertEquals(0, ok.status(), ok.toString());
        assertTrue(ok.json().get("ok").asBoolean());
        assertTrue(ok.json().get("checksums_checked").asBoolean());
        assertEquals(1762, ok.json().get("rows").asLong());
        try (FileChannel ch = FileChannel.open(store.resolve("vocab.words"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, 100);
            b.put(0, (byte) (b.get(0) ^ 1));
            ch.write(b.flip(), 100);
        }
        CliRun bad = CliRun.of("verify", store.toString());
        assertEquals(ExitCode.USER_ERROR, bad.status(), bad.toString());
        assertTrue(bad.out().contains("problem: " + store.resolve("vocab.words") + ": CRC-32C"), bad.out());
    }
}
