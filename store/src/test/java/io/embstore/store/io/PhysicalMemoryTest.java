package io.embstore.store.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PhysicalMemoryTest {
    @TempDir
    Path tmp;

    @Test
    void readsMemTotalInKibibytes() throws Exception {
        Path meminfo = tmp.resolve("meminfo");
        Files.writeString(meminfo, "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n");
        assertEquals(OptionalLong.of(24_576_000L * 1024), PhysicalMemory.total(meminfo));
        Files.writeString(meminfo, "MemFree:        20000000 kB\n");
        assertEquals(OptionalLong.empty(), PhysicalMemory.total(meminfo));
        assertEquals(OptionalLong.empty(), PhysicalMemory.total(tmp.resolve("missing")));
    }

    @Test
    void thisMachineReportsItsMemory() {
        if (Files.isReadable(PhysicalMemory.MEMINFO)) {
            assertTrue(PhysicalMemory.total().orElseThrow() > 64L << 20, PhysicalMemory.total().toString());
        }
    }
}
