package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class MachineMemoryTest {
    @Test
    void saysWhenTheStoreIsLargerThanMemory() {
        String larger = MachineMemory.describe(33L << 30, OptionalLong.of(24L << 30));
        assertTrue(larger.startsWith("LARGER than memory (33.0 GiB of files, 24.0 GiB of memory)"), larger);
        assertEquals("fits (1.0 GiB of files, 24.0 GiB of memory)", MachineMemory.describe(1L << 30, OptionalLong.of(24L << 30)));
        assertTrue(MachineMemory.describe(1, OptionalLong.empty()).startsWith("unknown"));
    }
}
