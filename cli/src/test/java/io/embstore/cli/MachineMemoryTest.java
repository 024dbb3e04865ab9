package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineMemoryTest {
    @TempDir
    Path tmp;

    @Test
    void readsMemTotalInKibibytes() throws Exception {
        Path meminfo = tmp.resolve("meminfo");
        Files.writeString(meminfo, "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n");
        assertEquals(OptionalLong.of(24_576_000L * 1024), MachineMemory.total(meminfo));
        Files.writeString(meminfo, "MemFree:        20000000 kB\n");
        assertEquals(OptionalLong.empty(), MachineMemory.total(meminfo));
        assertEquals(OptionalLong.empty(), MachineMemory.total(tmp.resolve("missing")));
    }

    @Test
    void saysWhenTheStoreIsLargerThanMemory() {
        String larger = MachineMemory.describe(33L << 30, OptionalLong.of(24L << 30));
        assertTrue(larger.startsWith("LARGER than memory (33.0 GiB of files, 24.0 GiB of memory)"), larger);
        assertEquals("fits (1.0 GiB of files, 24.0 GiB of memory)", MachineMemory.describe(1L << 30, OptionalLong.of(24L << 30)));
        assertTrue(MachineMemory.describe(1, OptionalLong.empty()).startsWith("unknown"));
    }
}
