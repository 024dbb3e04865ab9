package io.embstore.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DirectOutput on real files, with one-page chunks so that pieces start, end and straddle chunk boundaries everywhere:
 * whatever the order and the threads that put the pieces, the file holds exactly the bytes put, at its exact length.
 */
class DirectOutputTest {
    @TempDir
    Path tmp;

    private static long seed() {
        String fixed = System.getenv("EMBSTORE_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
        System.out.println("DirectOutputTest seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        return seed;
    }

    /** Cuts {@code expected} into random pieces and puts them from 4 threads in a shuffled order. */
    private static void putShuffled(DirectOutput out, byte[] expected, SplittableRandom rnd) throws Exception {
        record Piece(int at, int length) {
        }
        List<Piece> pieces = new ArrayList<>();
        for (int at = 0; at < expected.length; ) {
            int length = Math.min(expected.length - at, rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(10_000) : 1 + rnd.nextInt(300));
            pieces.add(new Piece(at, length));
            at += length;
        }
        // Shuffled only within windows, as the exporter's blocks arrive nearly in order; whole chunks are written as
        // soon as they fill, out of order too.
        for (int from = 0; from < pieces.size(); from += 16) {
            Collections.shuffle(pieces.subList(from, Math.min(pieces.size(), from + 16)), new java.util.Random(rnd.nextLong()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int first = t;
                done.add(pool.submit(() -> {
                    for (int i = first; i < pieces.size(); i += 4) {
                        Piece p = pieces.get(i);
                        byte[] bytes = java.util.Arrays.copyOfRange(expected, p.at(), p.at() + p.length());
                        out.put(p.at(), bytes, p.length());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private void roundTrip(boolean direct, int length, SplittableRandom rnd) throws Exception {
        byte[] expected = new byte[length];
        rnd.nextBytes(expected);
        Path file = tmp.resolve("out-" + direct + "-" + length);
        try (DirectOutput out = new DirectOutput(file, DirectOutput.ALIGNMENT, direct)) {
            putShuffled(out, expected, rnd);
            out.finish(length);
        }
        assertEquals(length, Files.size(file), "length, direct=" + direct);
        assertArrayEquals(expected, Files.readAllBytes(file), "content, direct=" + direct + ", " + length + " bytes");
    }

    @Test
    void writesExactlyTheBytesPutWhateverTheOrderAndThreads() throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed());
        // Empty, under a page, exactly pages, a page and a byte, and a long file of many chunks with a ragged tail.
        int[] lengths = {0, 1, 4095, 4096, 4097, 3 * 4096, 200_000 + rnd.nextInt(4096), 3_000_000 + rnd.nextInt(100_000)};
        for (boolean direct : new boolean[] {true, false}) {
            for (int length : lengths) {
                roundTrip(direct, length, rnd);
            }
        }
    }

    @Test
    void usesDirectIoOnLinuxFileSystemsThatHaveIt() throws IOException {
        boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
        String arch = System.getProperty("os.arch", "");
        String type = Files.getFileStore(tmp).type();
        Path file = tmp.resolve("probe");
        try (DirectOutput out = DirectOutput.create(file)) {
            out.put(0, new byte[] {'a', 'b', 'c'}, 3);
            out.finish(3);
            if (linux && List.of("amd64", "x86_64", "aarch64").contains(arch) && List.of("ext4", "xfs").contains(type)) {
                assertTrue(out.direct(), "direct I/O on " + type + " (" + arch + ")");
            } else {
                System.out.println("DirectOutputTest: " + type + " on " + arch + ": direct=" + out.direct());
            }
        }
        assertEquals("abc", Files.readString(file));
        try (DirectOutput out = new DirectOutput(tmp.resolve("buffered"), DirectOutput.ALIGNMENT, false)) {
            assertFalse(out.direct(), "direct=false goes through the page cache");
        }
    }

    @Test
    void missingBytesAreABugNotAShortFile() throws IOException {
        try (DirectOutput out = new DirectOutput(tmp.resolve("gap"), DirectOutput.ALIGNMENT, true)) {
            out.put(0, new byte[10], 10);
            out.put(20, new byte[10], 10);
            assertThrows(IllegalStateException.class, () -> out.finish(30));
        }
        assertThrows(IllegalArgumentException.class, () -> new DirectOutput(tmp.resolve("x"), 1000, true));
    }
}
