package io.embstore.store.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MajorFaultsTest {
    @TempDir
    Path dir;

    @Test
    void countsTheReadsOfAColdMappingAndNotOfAWarmOne() throws Exception {
        assumeTrue(MajorFaults.ofThisThread() >= 0, "getrusage(RUSAGE_THREAD) is unavailable here (not Linux)");
        Path file = dir.resolve("f");
        long bytes = 64 * MappingAdvice.pageSize();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate((int) bytes), 0);
            ch.force(true);
        }
        // Evicts the file's pages (POSIX_FADV_DONTNEED, through GNU dd), as after a reboot.
        Process dd = new ProcessBuilder("dd", "if=" + file, "iflag=nocache", "count=0", "status=none").inheritIO().start();
        assumeTrue(dd.waitFor() == 0, "dd iflag=nocache is unavailable");
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena);
            new MappingAdvice(dir).random(mapping, file); // one page per fault
            long before = MajorFaults.ofThisThread();
            byte b = mapping.get(ValueLayout.JAVA_BYTE, 17 * MappingAdvice.pageSize());
            long cold = MajorFaults.ofThisThread() - before;
            assertTrue(cold >= 1, "a read of an evicted page waited on the disk: " + cold + " major faults");
            before = MajorFaults.ofThisThread();
            b += mapping.get(ValueLayout.JAVA_BYTE, 17 * MappingAdvice.pageSize() + 8);
            assertEquals(0, MajorFaults.ofThisThread() - before, "the same page again is in memory");
            assertEquals(0, b);
            // A page asked for ahead is read by the asking thread: counted in its blocks read, not as a fault.
            long blocks = MajorFaults.blocksReadByThisThread();
            new MappingAdvice(dir).willNeed(mapping, 40 * MappingAdvice.pageSize(), 1, file);
            assertTrue(MajorFaults.blocksReadByThisThread() - blocks >= MappingAdvice.pageSize() / 512,
                    "MADV_WILLNEED's read is this thread's: " + (MajorFaults.blocksReadByThisThread() - blocks)
                    + " blocks of 512 bytes");
        }
    }
}
