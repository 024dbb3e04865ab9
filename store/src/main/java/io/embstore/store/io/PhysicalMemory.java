package io.embstore.store.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * The machine's physical memory, {@code MemTotal} in {@code /proc/meminfo}: what decides whether a table can be held
 * in the page cache at all (a gather warms a table that fits; {@code embstore info} says when one does not).
 */
public final class PhysicalMemory {
    /** Where Linux reports it. */
    public static final Path MEMINFO = Path.of("/proc/meminfo");
    private static final OptionalLong TOTAL = total(MEMINFO);

    private PhysicalMemory() {
    }

    /** This machine's MemTotal in bytes (read once), or empty where the system does not report it (not Linux). */
    public static OptionalLong total() {
        return TOTAL;
    }

    /** MemTotal in bytes as {@code meminfo} gives it, or empty where the file is missing or has no such line. */
    public static OptionalLong total(Path meminfo) {
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
}
