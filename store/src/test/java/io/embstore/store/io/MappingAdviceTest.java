package io.embstore.store.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappingAdviceTest {
    @TempDir
    Path dir;

    private MemorySegment map(Arena arena, String name, long bytes) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, new byte[(int) bytes]);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena);
        }
    }

    @Test
    void randomAndSequentialAdviceShowInTheMappingsFlags() throws Exception {
        assumeTrue(MappingAdvice.available(), "madvise is unavailable here (not Linux)");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = map(arena, "a", 1 << 20);
            MemorySegment b = map(arena, "b", 1 << 20);
            Set<String> before = Smaps.flags(a);
            assertFalse(before.contains("rr") || before.contains("sr"), "fresh mapping: " + before);
            MappingAdvice advice = new MappingAdvice(dir);
            advice.random(a, dir.resolve("a"));
            advice.sequential(b, dir.resolve("b"));
            assertTrue(Smaps.flags(a).contains("rr"), "after MADV_RANDOM: " + Smaps.flags(a));
            assertFalse(Smaps.flags(a).contains("sr"));
            assertTrue(Smaps.flags(b).contains("sr"), "after MADV_SEQUENTIAL: " + Smaps.flags(b));
            assertFalse(Smaps.flags(b).contains("rr"));
            // WILLNEED on a range that does not start on a page boundary: rounded down, taken, flags unchanged.
            assertTrue(advice.advise(a, 5000, 100, MappingAdvice.MADV_WILLNEED, dir.resolve("a")));
            assertTrue(Smaps.flags(a).contains("rr"));
        }
    }

    /** Pages of {@code mapping} in the page cache, by mincore(2). */
    private static long residentPages(MemorySegment mapping) throws Throwable {
        java.lang.foreign.Linker linker = java.lang.foreign.Linker.nativeLinker();
        java.lang.invoke.MethodHandle mincore = linker.downcallHandle(linker.defaultLookup().find("mincore").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                        java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG,
                        java.lang.foreign.ValueLayout.ADDRESS));
        long pages = (mapping.byteSize() + MappingAdvice.pageSize() - 1) / MappingAdvice.pageSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = arena.allocate(pages);
            int rc = (int) mincore.invokeExact(MemorySegment.ofAddress(mapping.address()), mapping.byteSize(), vec);
            assertEquals(0, rc, "mincore");
            long resident = 0;
            for (long i = 0; i < pages; i++) {
                resident += vec.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 1;
            }
            return resident;
        }
    }

    @Test
    void willNeedReadsAllOfALongRangeOfAColdFile() throws Throwable {
        assumeTrue(MappingAdvice.available(), "madvise is unavailable here (not Linux)");
        Path file = dir.resolve("cold");
        long bytes = 40L << 20; // more than one call's worth on this machine (8 MiB read-ahead)
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(1 << 20);
            for (long at = 0; at < bytes; at += block.capacity()) {
                block.clear();
                ch.write(block, at);
            }
            ch.force(true);
        }
        // Evicts the file's clean pages (POSIX_FADV_DONTNEED, through GNU dd): the file is cold, as after a reboot.
        Process dd = new ProcessBuilder("dd", "if=" + file, "iflag=nocache", "count=0", "status=none").inheritIO().start();
        assumeTrue(dd.waitFor() == 0, "dd iflag=nocache is unavailable");
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena);
            long pages = bytes / MappingAdvice.pageSize();
            assumeTrue(residentPages(mapping) < pages / 10, "the file system keeps the pages (tmpfs?): nothing to show");
            MappingAdvice advice = new MappingAdvice(dir);
            advice.random(mapping, file);
            advice.willNeed(mapping, 4096 + 100, bytes - 4096 - 100, file); // from the middle of page 1 to the end
            long resident = 0;
            for (int wait = 0; wait < 200 && resident < pages - 1; wait++) {
                Thread.sleep(50);
                resident = residentPages(mapping);
            }
            // All but page 0, which was not asked for (and may have come in anyway).
            assertTrue(resident >= pages - 1, resident + " of " + pages + " pages resident: part of the range was dropped");
        }
    }

    @Test
    void refusedAdviceLeavesTheDefaultAndLogsOneLinePerOwner() throws Exception {
        assumeTrue(MappingAdvice.available(), "madvise is unavailable here (not Linux)");
        Logger logger = Logger.getLogger(MappingAdvice.class.getName());
        List<LogRecord> records = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(capture);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = map(arena, "a", 1 << 16);
            MemorySegment b = map(arena, "b", 1 << 16);
            MappingAdvice advice = new MappingAdvice(dir.resolve("store-1"));
            // No kernel knows advice 12345: madvise fails with EINVAL, the honest way a kernel refuses.
            assertFalse(advice.advise(a, 0, a.byteSize(), 12345, dir.resolve("a")));
            assertFalse(advice.advise(b, 0, b.byteSize(), 12345, dir.resolve("b")));
            assertEquals(1, records.size(), "one line per owner, not per call: " + records);
            LogRecord line = records.get(0);
            assertEquals(Level.WARNING, line.getLevel());
            assertTrue(line.getMessage().contains(dir.resolve("a").toString()) && line.getMessage().contains("EINVAL")
                    && line.getMessage().contains("store-1"), line.getMessage());
            Set<String> flags = Smaps.flags(a);
            assertFalse(flags.contains("rr") || flags.contains("sr"), "the default advice stays: " + flags);
            // The mapping still reads (at the default read-ahead); advice that the kernel takes still works.
            assertEquals(0, a.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100));
            advice.random(a, dir.resolve("a"));
            assertTrue(Smaps.flags(a).contains("rr"));
            // Another owner (another store) logs its own line.
            new MappingAdvice(dir.resolve("store-2")).advise(a, 0, a.byteSize(), 12345, dir.resolve("a"));
            assertEquals(2, records.size());
        } finally {
            logger.removeHandler(capture);
        }
    }
}
