package io.embstore.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * The machine's physical memory ({@code MemTotal} in {@code /proc/meminfo}) and how a store's size compares with it:
 * a store larger than memory is served from the disk at its random-read rate, not from the page cache (README,
 * "Tables larger than memory").
 */
final class MachineMemory {
    static final Path MEMINFO = Path.of("/proc/meminfo");

    private MachineMemory() {
    }

    /** MemTotal in bytes, or empty where {@code meminfo} is missing or has no such line (not Linux). */
    static OptionalLong total(Path meminfo) {
        List<String> lines;
        try {
            lines = Files.readAllLines(meminfo);
        } catch (IOException e) {
            return OptionalLong.empty();
        }
        for (String line : lines) {
            // "MemTotal:       24576000 kB": the kernel reports kibibytes whatever the unit says.
            if (line.startsWith("MemTotal:")) {
                String[] parts = line.substring("MemTotal:".length()).trim().split("\\s+");
                try {
                    return OptionalLong.of(Math.multiplyExact(Long.parseLong(parts[0]), 1024L));
                } catch (NumberFormatException | ArithmeticException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }

    /** The {@code memory} line of {@code embstore info}, for a store of {@code storeBytes}. */
    static String describe(long storeBytes, OptionalLong memory) {
        if (memory.isEmpty()) {
            return "unknown (no MemTotal in " + MEMINFO + ")";
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
