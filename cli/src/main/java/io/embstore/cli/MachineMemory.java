package io.embstore.cli;

import io.embstore.store.io.PhysicalMemory;
import java.util.OptionalLong;

/**
 * How a store's size compares with the machine's memory ({@link PhysicalMemory}): a store larger than memory is served
 * from the disk at its random-read rate, not from the page cache (README, "Tables larger than memory").
 */
final class MachineMemory {
    private MachineMemory() {
    }

    /** The {@code memory} line of {@code embstore info}, for a store of {@code storeBytes}. */
    static String describe(long storeBytes, OptionalLong memory) {
        if (memory.isEmpty()) {
            return "unknown (no MemTotal in " + PhysicalMemory.MEMINFO + ")";
        }
        long total = memory.getAsLong();
        String sizes = InfoCommand.humanBytes(storeBytes) + " of files, " + InfoCommand.humanBytes(total) + " of memory";
        if (storeBytes > total) {
            return "LARGER than memory (" + sizes + "): rows are read from the disk at its random-read rate,"
                    + " use several threads (README, \"Tables larger than memory\")";
        }
        return "fits (" + sizes + ")";
    }
}
