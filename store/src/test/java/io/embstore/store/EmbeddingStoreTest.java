package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.Seeds;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class EmbeddingStoreTest {
    @TempDir
    Path tmp;

    static List<String> words(int n) {
        List<String> w = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            w.add(i % 7 == 0 ? "wörd-" + i : "w" + i);
        }
        return w;
    }

    private static float[] ramp(int dim, float scale) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = scale * (i - dim / 2f);
        }
        return v;
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"F32", "F16"}) // exact values; q8/q4 in QuantizedRowsTest
    void createWriteReadAndReopen(Dtype dtype) {
        Path dir = tmp.resolve("s");
        int dim = 13;
        float[] v = ramp(dim, 0.25f);
        try (WritableStore s = EmbeddingStore.builder(dir).words(words(100)).dim(dim).dtype(dtype).init(Init.zeros()).create()) {
            assertEquals(100, s.rows());
            assertEquals(dim, s.dim());
            assertEquals(dtype, s.dtype());
            assertTrue(s.isWritable());
            s.write(42, v);
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertFalse(s.isWritable());
            float[] got = new float[dim];
            s.read(42, got);
            assertArrayEquals(v, got);
            s.read(41, got);
            assertArrayEquals(new float[dim], got);
            assertEquals(43, s.rowOf("w43"));
            assertEquals(42, s.rowOf("wörd-42"));
            assertEquals("wörd-7", s.word(7));
            assertEquals(7, s.rowOf("wörd-7"));
            assertEquals(-1, s.rowOf("absent"));
            assertFalse(s.contains("w100"));
            assertTrue(s.contains("w99"));
        }
    }

    @Test
    void everyWordMapsToItsRowAndBack() {
        List<String> w = new ArrayList<>(words(3000));
        w.add("");
        w.add("with space");
        w.add("日本語");
        w.add("emoji \uD83D\uDE00");
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("v")).words(w).dim(3).init(Init.zeros()).create()) {
            for (int i = 0; i < w.size(); i++) {
                assertEquals(i, s.rowOf(w.get(i)), w.get(i));
                assertEquals(w.get(i), s.word(i));
            }
            assertEquals(-1, s.rowOf("w3000"));
        }
    }

    @Test
    void rowsOfAnswersAsRowOfDoesForEveryWord() {
        Path dir = tmp.resolve("batch");
        List<String> w = words(5000);
        try (WritableStore writer = EmbeddingStore.builder(dir).words(w).dim(2).init(Init.zeros()).create();
             EmbeddingStore reader = EmbeddingStore.open(dir)) {
            writer.append("appended", new float[2]);
            String[] queries = new String[1003];
            for (int i = 0; i < queries.length; i++) {
                queries[i] = i % 5 == 0 ? "absent-" + i : i % 97 == 0 ? "appended" : w.get((i * 37) % w.size());
            }
            for (EmbeddingStore s : List.of(writer, reader)) {
                long[] rows = new long[queries.length];
                Arrays.fill(rows, -7);
                s.rowsOf(queries, queries.length, rows);
                for (int i = 0; i < queries.length; i++) {
                    assertEquals(s.rowOf(queries[i]), rows[i], queries[i]);
                }
                assertEquals(s == writer ? 5000 : -1, rows[97], "the reader has not refreshed since the append");
            }
        }
    }

    @Test
    void f16RoundTripIsFloatToFloat16() {
        int dim = 1021;
        long seed = Seeds.seed("f16RoundTripIsFloatToFloat16");
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-6, 5)));
        }
        v[0] = 65504f;      // largest f16
        v[1] = 1e6f;        // overflows to infinity
        v[2] = 5.96e-8f;    // smallest subnormal f16
        v[3] = -0.0f;
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("h")).rows(2).vocabulary(false).dim(dim)
                .dtype(Dtype.F16).init(Init.zeros()).create()) {
            s.write(1, v);
            float[] got = new float[dim];
            s.read(1, got);
            for (int i = 0; i < dim; i++) {
                assertEquals(Float.floatToIntBits(Float.float16ToFloat(Float.floatToFloat16(v[i]))),
                        Float.floatToIntBits(got[i]), "element " + i + " value " + v[i]);
            }
            assertEquals(Float.POSITIVE_INFINITY, got[1]);
            assertEquals(Float.floatToIntBits(-0.0f), Float.floatToIntBits(got[3]));
            MemorySegment raw = s.rowSegment(1);
            assertEquals(2L * dim, raw.byteSize());
            assertEquals(Float.floatToFloat16(v[5]), raw.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 10));
        }
    }

    @Test
    void paddingRowReadsZeroAndIsNeverWritten() {
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("p")).words(words(10)).dim(8).paddingIndex(3)
                .init(Init.normal(7)).create()) {
            assertEquals(3, s.paddingIndex());
            float[] got = new float[8];
            s.read(3, got);
            assertArrayEquals(new float[8], got);
            s.read(4, got);
            assertNotEquals(0f, got[0]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.write(3, ramp(8, 1)));
            assertTrue(e.getMessage().contains("padding"), e.getMessage());
            float[] batch = new float[3 * 8];
            s.gather(new int[] {4, 3, 4}, batch);
            assertArrayEquals(new float[8], Arrays.copyOfRange(batch, 8, 16));
        }
        try (EmbeddingStore s = EmbeddingStore.open(tmp.resolve("p"))) {
            assertEquals(3, s.paddingIndex());
        }
    }

    @ParameterizedTest
    @EnumSource(Dtype.class)
    void gatherMatchesRowByRowReadsForEveryIdForm(Dtype dtype) {
        int dim = 31;
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("g")).rows(500).vocabulary(false).dim(dim).dtype(dtype)
                .init(Init.normal(3)).create()) {
            int[] ids = {0, 499, 17, 17, 250, 0};
            long[] longIds = Arrays.stream(ids).asLongStream().toArray();
            float[] expected = new float[ids.length * dim];
            for (int i = 0; i < ids.length; i++) {
                s.read(ids[i], expected, i * dim, ReadMode.CONSISTENT);
            }
            float[] a = new float[ids.length * dim];
            s.gather(ids, a);
            assertArrayEquals(expected, a);
            float[] b = new float[ids.length * dim];
            s.gather(longIds, b, ReadMode.RELAXED);
            assertArrayEquals(expected, b);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate((long) ids.length * dim * Float.BYTES, 4);
                s.gather(longIds, seg, ReadMode.CONSISTENT);
                assertArrayEquals(expected, seg.toArray(ValueLayout.JAVA_FLOAT));
                seg.fill((byte) 0);
                s.gather(ids, seg, ReadMode.RELAXED);
                assertArrayEquals(expected, seg.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    @Test
    void gatherRejectsBadIdsBeforeWritingAnything() {
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("b")).rows(10).vocabulary(false).dim(4)
                .init(Init.normal(1)).create()) {
            float[] dst = new float[3 * 4];
            Arrays.fill(dst, Float.NaN);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> s.gather(new int[] {1, 2, 10}, dst));
            assertEquals("id 10 at position 2 is outside [0, 10)", e.getMessage());
            assertTrue(Arrays.stream(toDoubles(dst)).allMatch(Double::isNaN), "nothing written");
            e = assertThrows(IndexOutOfBoundsException.class, () -> s.gather(new long[] {-1}, dst));
            assertEquals("id -1 at position 0 is outside [0, 10)", e.getMessage());
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> s.gather(new int[] {1, 2, 3, 4}, dst));
            assertTrue(small.getMessage().contains("4 ids x dim 4 need 16"), small.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> s.read(10, new float[4]));
            assertThrows(IndexOutOfBoundsException.class, () -> s.read(0, new float[3]));
        }
    }

    /**
     * After growth the files have room for more rows than are live: an id equal to rows() lies inside the mapping (an
     * unused row of zeros) and must still be refused, which a bound checked against capacity would let through.
     */
    @Test
    void gatherRefusesTheFirstIdPastTheLiveRowsOfAGrownStore() {
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("grown")).rows(0).vocabulary(false).dim(4)
                .init(Init.zeros()).create()) {
            for (int i = 0; i < 10; i++) {
                s.appendRow(new float[] {i, i, i, i});
            }
            long capacity = ControlBlockFields.capacity(s.path());
            assertTrue(capacity > s.rows(), "the test needs rows < capacity: rows " + s.rows() + ", capacity " + capacity);
            float[] dst = new float[2 * 4];
            Arrays.fill(dst, Float.NaN);
            for (ReadMode mode : ReadMode.values()) {
                IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                        () -> s.gather(new int[] {9, 10}, dst, mode), mode.name());
                assertEquals("id 10 at position 1 is outside [0, 10)", e.getMessage());
                e = assertThrows(IndexOutOfBoundsException.class, () -> s.gather(new long[] {10}, dst, mode), mode.name());
                assertEquals("id 10 at position 0 is outside [0, 10)", e.getMessage());
                assertTrue(Arrays.stream(toDoubles(dst)).allMatch(Double::isNaN), "nothing written");
            }
            s.gather(new int[] {9}, dst);
            assertEquals(9f, dst[0]);
        }
    }

    /** Reads fields of a store's control.bin through a private mapping. */
    private static final class ControlBlockFields {
        static long capacity(Path dir) {
            try (FileChannel ch = FileChannel.open(dir.resolve(EmbeddingStore.CONTROL_FILE), StandardOpenOption.READ)) {
                ByteBuffer b = ByteBuffer.allocate(ControlBlock.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(b, 0);
                return b.getLong((int) ControlBlock.CAPACITY_OFFSET);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Test
    void initialisersAreSeededAndShaped() {
        int rows = 3000;
        int dim = 16;
        float[] a = table(tmp.resolve("n1"), rows, dim, Init.normal(11));
        float[] b = table(tmp.resolve("n2"), rows, dim, Init.normal(11));
        float[] c = table(tmp.resolve("n3"), rows, dim, Init.normal(12));
        assertArrayEquals(a, b, "same seed, same table");
        assertFalse(Arrays.equals(a, c), "another seed, another table");
        double mean = 0;
        double sq = 0;
        for (float x : a) {
            mean += x;
            sq += (double) x * x;
        }
        mean /= a.length;
        double sd = Math.sqrt(sq / a.length - mean * mean);
        assertEquals(0, mean, 0.02);
        assertEquals(1, sd, 0.02);

        float[] u = table(tmp.resolve("u"), rows, dim, Init.kerasUniform(5));
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (float x : u) {
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        assertTrue(min >= -0.05 && min < -0.049, "min " + min);
        assertTrue(max < 0.05 && max > 0.049, "max " + max);
        assertTrue(Arrays.equals(new float[rows * dim], table(tmp.resolve("z"), rows, dim, Init.zeros())));
    }

    private static float[] table(Path dir, int rows, int dim, Init init) {
        try (WritableStore s = EmbeddingStore.builder(dir).rows(rows).vocabulary(false).dim(dim).init(init).create()) {
            float[] all = new float[rows * dim];
            for (int r = 0; r < rows; r++) {
                s.read(r, all, r * dim, ReadMode.CONSISTENT);
            }
            return all;
        }
    }

    @Test
    void copyOfConvertsDtypeAndKeepsWords() {
        Path src = tmp.resolve("src");
        try (WritableStore s = EmbeddingStore.builder(src).words(words(50)).dim(9).init(Init.normal(2)).create();
             WritableStore c = EmbeddingStore.builder(tmp.resolve("copy")).dtype(Dtype.F16).init(Init.copyOf(s)).create()) {
            assertEquals(50, c.rows());
            assertEquals(9, c.dim());
            assertEquals(Dtype.F16, c.dtype());
            float[] x = new float[9];
            float[] y = new float[9];
            for (int r = 0; r < 50; r++) {
                assertEquals(s.word(r), c.word(r));
                s.read(r, x);
                c.read(r, y);
                for (int i = 0; i < 9; i++) {
                    assertEquals(Float.float16ToFloat(Float.floatToFloat16(x[i])), y[i]);
                }
            }
        }
    }

    @Test
    void badCreationRequestsLeaveNothingBehind() throws IOException {
        Path dir = tmp.resolve("bad");
        List<String> dup = new ArrayList<>(words(5));
        dup.add("w3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingStore.builder(dir).words(dup).dim(4).create());
        assertEquals("duplicate word 'w3' at rows 3 and 5", e.getMessage());
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList(), "no store and no temporary directory");
        }
        assertThrows(IllegalArgumentException.class, () -> EmbeddingStore.builder(dir).rows(5).dim(4).create(),
                "a vocabulary store needs words");
        assertThrows(IllegalArgumentException.class, () -> EmbeddingStore.builder(dir).rows(5).create());
        assertThrows(IllegalArgumentException.class, () -> EmbeddingStore.builder(dir).dim(0));
        assertThrows(IllegalArgumentException.class,
                () -> EmbeddingStore.builder(dir).rows(5).vocabulary(false).dim(2).paddingIndex(5).create());
        EmbeddingStore.builder(dir).rows(1).vocabulary(false).dim(2).create().close();
        StoreException exists = assertThrows(StoreException.class,
                () -> EmbeddingStore.builder(dir).rows(1).vocabulary(false).dim(2).create());
        assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
    }

    @Test
    void oneWriterAtATimeAndReadersCannotWrite() {
        Path dir = tmp.resolve("w");
        try (WritableStore w = EmbeddingStore.builder(dir).words(words(4)).dim(2).create()) {
            StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir));
            assertTrue(e.getMessage().contains("already open for writing"), e.getMessage());
            try (EmbeddingStore r = EmbeddingStore.open(dir)) {
                // A reader cannot write by its type (it used to throw IllegalStateException at run time).
                assertFalse(r.isWritable());
                assertFalse(r instanceof WritableStore);
                for (java.lang.reflect.Method m : EmbeddingStore.class.getMethods()) {
                    assertFalse(Set.of("write", "append", "appendRow", "flush", "force", "publish", "recordChecksums",
                            "computeNorms").contains(m.getName()), "a reader's type has " + m);
                }
            }
        }
        try (WritableStore w = EmbeddingStore.openForWriting(dir)) {
            assertTrue(w.isWritable(), "the lock is released at close");
        }
    }

    @Test
    void writesShowThroughReadersAndZeroCopyViews() {
        Path dir = tmp.resolve("live");
        try (WritableStore w = EmbeddingStore.builder(dir).words(words(20)).dim(5).init(Init.zeros()).create();
             EmbeddingStore r = EmbeddingStore.open(dir)) {
            MemorySegment view = r.rowSegment(6);
            assertTrue(view.isReadOnly());
            long g0 = r.generation();
            w.write(6, new float[] {1, 2, 3, 4, 5});
            float[] got = new float[5];
            r.read(6, got);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5}, got, "no reopen, no refresh needed");
            assertEquals(3f, view.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8));
            w.publish();
            assertTrue(r.generation() > g0, "reader sees the generation move");
            assertFalse(r.refresh(), "nothing appended");
        }
    }

    @Test
    void touchRowsReadsTheFirstAndLastByteOfEachRowAndChecksThem() {
        Path dir = tmp.resolve("touch");
        try (WritableStore w = EmbeddingStore.builder(dir).words(words(20)).dim(5).init(Init.normal(3)).create()) {
            int[] rows = {6, 0, 19, 6, 99};
            int want = 0;
            for (int i = 0; i < 4; i++) {
                MemorySegment row = w.rowSegment(rows[i]);
                want += row.get(ValueLayout.JAVA_BYTE, 0) + row.get(ValueLayout.JAVA_BYTE, row.byteSize() - 1);
            }
            assertEquals(want, w.touchRows(rows, 4), "only the first count rows");
            assertEquals(0, w.touchRows(rows, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> w.touchRows(rows, 5), "row 99 of 20");
            assertThrows(IndexOutOfBoundsException.class, () -> w.touchRows(rows, 6), "count past the array");
        }
    }

    @Test
    void appendGrowsAndReadersRefresh() {
        Path dir = tmp.resolve("g");
        try (WritableStore w = EmbeddingStore.builder(dir).words(words(3)).dim(4).init(Init.normal(1)).create();
             EmbeddingStore r = EmbeddingStore.open(dir)) {
            for (int i = 3; i < 5000; i++) {
                assertEquals(i, w.append("w" + i, new float[] {i, i, i, i}));
            }
            IllegalArgumentException dup = assertThrows(IllegalArgumentException.class, () -> w.append("w17", new float[4]));
            assertEquals("word 'w17' is already in the store at row 17", dup.getMessage());
            assertEquals(3, r.rows());
            assertEquals(-1, r.rowOf("w10"), "not visible before refresh");
            assertEquals(-1, r.rowOf("w4999"), "its record lies past the reader's mapping of vocab.words");
            assertThrows(IndexOutOfBoundsException.class, () -> r.read(10, new float[4]));
            assertTrue(r.refresh());
            assertEquals(5000, r.rows());
            assertEquals(4999, r.rowOf("w4999"));
            assertEquals("w1234", r.word(1234));
            float[] got = new float[4];
            r.read(4321, got);
            assertArrayEquals(new float[] {4321, 4321, 4321, 4321}, got);
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            assertEquals(5000, r.rows());
            assertEquals(2500, r.rowOf("w2500"));
        }
        try {
            String manifest = Files.readString(dir.resolve("manifest.txt"));
            assertTrue(manifest.contains("rows=5000\n"), manifest);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void appendRowToIdTableFromEmpty() {
        Path dir = tmp.resolve("ids");
        try (WritableStore w = EmbeddingStore.builder(dir).rows(0).vocabulary(false).dim(3).dtype(Dtype.F16).create()) {
            assertThrows(IllegalStateException.class, () -> w.append("x", new float[3]));
            assertThrows(IllegalStateException.class, () -> w.rowOf("x"));
            for (int i = 0; i < 300; i++) {
                assertEquals(i, w.appendRow(new float[] {i, -i, 0.5f}));
            }
            assertThrows(IllegalArgumentException.class, () -> w.appendRow(new float[2]));
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            float[] got = new float[3];
            r.read(299, got);
            assertArrayEquals(new float[] {299, -299, 0.5f}, got);
        }
    }

    @ParameterizedTest
    @EnumSource(Dtype.class)
    void readingIntoACallersArrayAllocatesNothing(Dtype dtype) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("a")).rows(64).vocabulary(false).dim(300).dtype(dtype)
                .init(Init.normal(4)).create()) {
            float[] row = new float[300];
            int[] ids = {1, 5, 9, 63};
            float[] batch = new float[ids.length * 300];
            long allocated = Long.MAX_VALUE;
            // Repeat until compiled: the interpreter may allocate, compiled code must not.
            for (int round = 0; round < 20 && allocated > 0; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 20_000; i++) {
                    s.read(i & 63, row);
                    s.gather(ids, batch);
                }
                allocated = threads.getCurrentThreadAllocatedBytes() - before;
            }
            assertEquals(0, allocated, "bytes allocated by 20,000 reads and gathers");
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseFailsCleanly() {
        WritableStore s = EmbeddingStore.builder(tmp.resolve("c")).words(words(3)).dim(2).create();
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.read(0, new float[2]));
        assertThrows(IllegalStateException.class, () -> s.rowOf("w1"));
        assertThrows(IllegalStateException.class, () -> s.gather(new int[] {0}, new float[2]));
    }

    @Test
    void aRowLeftOddByADeadWriterFailsReadersUntilTheNextWriterRewritesIt() throws IOException {
        Path dir = tmp.resolve("odd");
        EmbeddingStore.builder(dir).words(words(8)).dim(2).create().close();
        setSeq(dir, 5, 7);
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> r.read(5, new float[2]));
            assertTrue(e.getMessage().contains("row 5 was left half-written"), e.getMessage());
            r.read(4, new float[2]);
        }
        EmbeddingStore.openForWriting(dir).close();
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> r.read(5, new float[2]));
            assertTrue(e.getMessage().contains("row 5 is damaged"), e.getMessage());
        }
        try (WritableStore w = EmbeddingStore.openForWriting(dir)) {
            w.write(5, new float[] {1, 2});
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            float[] got = new float[2];
            r.read(5, got);
            assertArrayEquals(new float[] {1, 2}, got);
        }
    }

    @Test
    void verifyChecksTheRecordedChecksumsUntilAWriterChangesTheStore() throws IOException {
        Path dir = tmp.resolve("v");
        EmbeddingStore.builder(dir).words(words(500)).dim(8).init(Init.normal(3)).create().close();
        assertTrue(Files.exists(dir.resolve("checksums.txt")), "creation records checksums");
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            Verification v = r.verify();
            assertTrue(v.ok(), v.problems().toString());
            assertTrue(v.checksumsChecked());
            assertEquals(500, v.rows());
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(Files.readAllBytes(dir.resolve("matrix.npy")));
            assertEquals(crc.getValue(), r.recordedMatrixChecksum().orElseThrow(), "the matrix file's CRC-32C");
        }
        // Damage one matrix byte: only the checksum can tell.
        try (FileChannel ch = FileChannel.open(dir.resolve("matrix.npy"), StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, 5000);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            ch.write(b.flip(), 5000);
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            Verification v = r.verify();
            assertEquals(1, v.problems().size(), v.problems().toString());
            assertTrue(v.problems().get(0).contains("matrix.npy: CRC-32C"), v.problems().get(0));
        }
        try (WritableStore w = EmbeddingStore.openForWriting(dir)) {
            assertTrue(Files.exists(dir.resolve("checksums.txt")), "opening alone changes nothing");
            w.write(3, new float[8]);
            assertFalse(Files.exists(dir.resolve("checksums.txt")), "the first write makes them stale");
            assertTrue(w.recordedMatrixChecksum().isEmpty(), "no record, no checksum");
            Verification v = w.verify();
            assertTrue(v.ok() && !v.checksumsChecked(), v.toString());
            w.recordChecksums();
            w.write(4, new float[] {Float.NaN, 0, 0, 0, 0, 0, 0, 0});
            w.recordChecksums();
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            Verification v = r.verify();
            assertTrue(v.ok() && v.checksumsChecked(), v.toString());
            assertEquals(1, v.nonFiniteValues());
        }
    }

    /** A changed norm reorders similarity results: verify must see it, through the checksum and row by row. */
    @ParameterizedTest
    @EnumSource(Dtype.class)
    void verifyChecksEveryNormAgainstItsRowAndTheNormsChecksum(Dtype dtype) throws IOException {
        Path dir = tmp.resolve("n");
        try (WritableStore w = EmbeddingStore.builder(dir).words(words(300)).dim(9).dtype(dtype).init(Init.normal(5)).create()) {
            w.computeNorms();
            w.recordChecksums();
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            Verification v = r.verify();
            assertTrue(v.ok() && v.checksumsChecked(), v.toString());
        }
        assertTrue(Files.readString(dir.resolve(StoreChecksums.FILE)).contains(RowNorms.FILE + " "),
                "checksums.txt covers norms.f32 when it exists");
        Path norms = dir.resolve(RowNorms.FILE);
        float recorded;
        try (FileChannel ch = FileChannel.open(norms, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, 4L * 123);
            recorded = b.getFloat(0);
            // The last bit of the mantissa: the smallest change a norm can have.
            b.putInt(0, b.getInt(0) ^ 1);
            ch.write(b.flip(), 4L * 123);
        }
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            Verification v = r.verify();
            assertEquals(2, v.problems().size(), v.problems().toString());
            assertTrue(v.problems().get(0).contains(RowNorms.FILE + ": CRC-32C"), v.problems().toString());
            assertTrue(v.problems().get(1).contains(RowNorms.FILE + ": row 123") && v.problems().get(1).contains(
                    Float.toString(recorded)), v.problems().toString());
        }
        Files.delete(dir.resolve(StoreChecksums.FILE));
        try (EmbeddingStore r = EmbeddingStore.open(dir)) {
            Verification v = r.verify();
            assertEquals(1, v.problems().size(), v.problems().toString());
            assertTrue(v.problems().get(0).contains(RowNorms.FILE + ": row 123"), v.problems().toString());
        }
    }

    private static void setSeq(Path dir, long row, int value) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve("rows.seq"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), row * 4);
        }
    }
    @Test
    void isStoreKnowsAStoreByItsManifest() throws IOException {
        Path store = tmp.resolve("a-store");
        EmbeddingStore.builder(store).vocabulary(false).rows(3).dim(2).init(Init.zeros()).create().close();
        assertTrue(EmbeddingStore.isStore(store));
        Path other = Files.createDirectories(tmp.resolve("other"));
        assertFalse(EmbeddingStore.isStore(other), "no manifest");
        Files.writeString(other.resolve("manifest.txt"), "some other tool's manifest\n");
        assertFalse(EmbeddingStore.isStore(other), "a manifest.txt that is not a store's");
        assertFalse(EmbeddingStore.isStore(tmp.resolve("absent")));
    }
}
