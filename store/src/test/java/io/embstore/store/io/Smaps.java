package io.embstore.store.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Reads the kernel's view of one of this process's mappings back from {@code /proc/self/smaps}: each mapping is a
 * header line {@code start-end perms offset dev inode path} followed by fields, the last of which is
 * {@code VmFlags: rd mr mw me ...} (two-letter flags; {@code rr} is MADV_RANDOM, {@code sr} MADV_SEQUENTIAL, see
 * proc(5)). Advice splits a mapping where it changes, so the flags are those of the mapping holding the address.
 */
public final class Smaps {
    private Smaps() {
    }

    /** The VmFlags of the mapping holding {@code segment}'s first byte. */
    public static Set<String> flags(MemorySegment segment) {
        return flagsAt(segment.address());
    }

    /** The VmFlags of the mapping holding {@code address}. */
    public static Set<String> flagsAt(long address) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean inside = false;
        for (String line : lines) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                return Set.of(line.substring("VmFlags:".length()).trim().split("\\s+"));
            }
        }
        throw new AssertionError("no mapping holds address 0x" + Long.toHexString(address) + " in /proc/self/smaps");
    }
}
