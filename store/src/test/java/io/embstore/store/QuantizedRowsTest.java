package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.io.NpyHeader;
import io.embstore.testkit.Seeds;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The quantized dtypes q8 and q4: the round-trip error bound of every row, the edge rows (constant, zero, huge,
 * subnormal, non-finite), the header, and that every read path (read, all gathers, similarity, norms) gives the same
 * dequantized float32 values. Randomised tests print their seed; replay with {@code EMBSTORE_SEED=N}.
 */
class QuantizedRowsTest {
    @TempDir
    Path tmp;

    private static List<String> words(int n) {
        List<String> w = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            w.add("w" + i);
        }
        return w;
    }

    private WritableStore create(String name, Dtype dtype, int rows, int dim) {
        return EmbeddingStore.builder(tmp.resolve(name)).words(words(rows)).dim(dim).dtype(dtype).init(Init.zeros()).create();
    }

    private static int qmax(Dtype dtype) {
        return dtype == Dtype.Q8 ? QuantizedRows.Q8_MAX : QuantizedRows.Q4_MAX;
    }

    /**
     * Asserts {@code |x - read| <= scale / 2 + slack} for every value of the row, with the stored scale and bias. The
     * slack is the float32 rounding of the read {@code fl(fl(scale * q) + bias)}: each of its two roundings is at most
     * half an ulp of a value no larger in magnitude than {@code R = |bias| + qmax * scale}, so one ulp of R covers
     * both (the quantization itself, done in double, is within scale / 2 of x by construction: the scale is rounded up,
     * so no code is clamped).
     */
    private static void assertWithinBound(Dtype dtype, float[] x, float[] read, MemorySegment stored, String context) {
        float scale = QuantizedRows.scale(dtype, stored, 0);
        float bias = QuantizedRows.bias(dtype, stored, 0);
        float min = Float.POSITIVE_INFINITY;
        for (float v : x) {
            min = Math.min(min, v);
        }
        assertTrue(bias <= min, context + ": bias " + bias + " must not exceed the row's minimum " + min);
        double slack = Math.ulp(Math.abs(bias) + qmax(dtype) * scale);
        for (int i = 0; i < x.length; i++) {
            double error = Math.abs((double) x[i] - read[i]);
            assertTrue(error <= scale / 2.0 + slack, context + " col " + i + ": x=" + x[i] + " read " + read[i]
                    + " error " + error + " > scale/2 " + scale / 2.0 + " + slack " + slack);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void everyRowReadsBackWithinHalfItsScale(Dtype dtype) {
        long seed = Seeds.seed("QuantizedRowsTest bound " + dtype);
        SplittableRandom random = new SplittableRandom(seed);
        for (int dim : new int[] {1, 2, 3, 7, 16, 31, 301}) {
            int rows = 40;
            List<float[]> written = new ArrayList<>();
            try (WritableStore s = create("bound-" + dtype.label() + "-" + dim, dtype, rows, dim)) {
                for (int r = 0; r < rows; r++) {
                    float[] v = new float[dim];
                    // Magnitudes from 1e-3 to 1e3, a random offset: rows unlike each other, as real tables are.
                    double magnitude = Math.pow(10, random.nextInt(-3, 4));
                    double offset = random.nextDouble(-2, 2) * magnitude;
                    for (int i = 0; i < dim; i++) {
                        v[i] = (float) (offset + random.nextGaussian() * magnitude);
                    }
                    s.write(r, v);
                    written.add(v);
                }
                float[] read = new float[dim];
                for (int r = 0; r < rows; r++) {
                    s.read(r, read);
                    assertWithinBound(dtype, written.get(r), read, s.rowSegment(r),
                            "seed=" + seed + " " + dtype + " dim " + dim + " row " + r);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void edgeRowsReadBackWithinTheBoundOrExactly(Dtype dtype) {
        int dim = 5;
        float sub = Float.MIN_VALUE;
        float[][] rows = {
                {0, 0, 0, 0, 0},
                {-0f, 0f, -0f, 0f, 0f},
                {0.5f, 0.5f, 0.5f, 0.5f, 0.5f},
                {-3f, -3f, -3f, -3f, -3f},
                {sub, 2 * sub, 3 * sub, 300 * sub, 0},
                {Float.MIN_NORMAL, -Float.MIN_NORMAL, 0, Float.MIN_NORMAL / 3, 1e-40f},
                {1e-7f, -1e-7f, 3e-8f, 0, 6e-8f},
                {-60000f, 60000f, 0, 1, -1},
                {1e-3f, 1e4f, -1e4f, 5f, 7f},
                {70000f, 70000f, 70000f, 70001f, 7e5f}, // q4: above binary16's max, yet the bias 65504 and the scale hold it
        };
        try (WritableStore s = create("edges-" + dtype.label(), dtype, rows.length, dim)) {
            float[] read = new float[dim];
            for (int r = 0; r < rows.length; r++) {
                s.write(r, rows[r]);
                s.read(r, read);
                assertWithinBound(dtype, rows[r], read, s.rowSegment(r), dtype + " edge row " + r + " " + Arrays.toString(rows[r]));
            }
            // Constant rows whose value the bias holds exactly have scale 0 and read back exactly.
            for (int r : new int[] {0, 2, 3}) {
                s.read(r, read);
                assertArrayEquals(rows[r], read, dtype + " constant row " + r);
                assertEquals(0f, QuantizedRows.scale(dtype, s.rowSegment(r), 0), "scale of constant row " + r);
            }
        }
    }

    @Test
    void q8HoldsHugeRangesAndConstantRowsOfAnyFloatExactly() {
        int dim = 4;
        float[] huge = {-1e30f, 1e30f, 0, 3e29f};
        float[] constant = {0.1f, 0.1f, 0.1f, 0.1f};
        float[] big = {Float.MAX_VALUE / 2, Float.MAX_VALUE / 2, Float.MAX_VALUE / 2, Float.MAX_VALUE / 2};
        try (WritableStore s = create("huge", Dtype.Q8, 3, dim)) {
            float[] read = new float[dim];
            s.write(0, huge);
            s.read(0, read);
            assertWithinBound(Dtype.Q8, huge, read, s.rowSegment(0), "huge");
            s.write(1, constant);
            s.read(1, read);
            assertArrayEquals(constant, read, "a constant row is stored as its bias with scale 0");
            s.write(2, big);
            s.read(2, read);
            assertArrayEquals(big, read);
        }
    }

    @Test
    void q4ConstantRowOfAValueBinary16CannotHoldStaysWithinTheBound() {
        float[] row = {0.1f, 0.1f, 0.1f};
        try (WritableStore s = create("q4const", Dtype.Q4, 1, 3)) {
            s.write(0, row);
            float[] read = new float[3];
            s.read(0, read);
            assertWithinBound(Dtype.Q4, row, read, s.rowSegment(0), "0.1 in q4");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void nonFiniteAndUnrepresentableRowsAreRefusedNamingTheRowAndLeaveItIntact(Dtype dtype) {
        int dim = 3;
        float[] before = {1, 2, 3};
        List<float[]> bad = new ArrayList<>(List.of(new float[] {1, Float.NaN, 2}, new float[] {Float.POSITIVE_INFINITY, 0, 0},
                new float[] {0, 0, Float.NEGATIVE_INFINITY}, new float[] {-Float.MAX_VALUE, Float.MAX_VALUE, 0}));
        if (dtype == Dtype.Q4) {
            bad.add(new float[] {-70000f, 0, 0}); // the bias would be -infinity in binary16
            bad.add(new float[] {-60000f, 1e6f, 0}); // the scale would be 70667, beyond binary16's 65504
        }
        try (WritableStore s = create("refused-" + dtype.label(), dtype, 2, dim)) {
            s.write(1, before);
            float[] expected = new float[dim];
            s.read(1, expected);
            for (float[] v : bad) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.write(1, v), Arrays.toString(v));
                assertTrue(e.getMessage().startsWith("row 1 "), e.getMessage());
                assertTrue(e.getMessage().contains(dtype.label()), e.getMessage());
                IllegalArgumentException appended = assertThrows(IllegalArgumentException.class, () -> s.append("new", v));
                assertTrue(appended.getMessage().startsWith("word 'new' "), appended.getMessage());
                float[] after = new float[dim];
                s.read(1, after);
                assertArrayEquals(expected, after, "a refused write leaves the row as it was");
                assertEquals(0, s.damagedRowCount(), "a refused write damages nothing");
                assertEquals(2, s.rows(), "a refused append appends nothing");
            }
            assertTrue(s.verify().problems().isEmpty(), s.verify().problems().toString());
        }
    }

    @Test
    void nonFiniteMessageNamesTheValueAndColumn() {
        try (WritableStore s = create("msg", Dtype.Q8, 1, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.write(0, new float[] {1, 2, Float.NaN}));
            assertEquals("row 0 has the value NaN at column 2: q8 rows hold finite values only (a quantized row has no"
                    + " code for NaN or infinity)", e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void rowsHaveTheFbgemmLayoutAndTheHeaderDescribesThem(Dtype dtype) throws Exception {
        int dim = 5;
        Path dir = tmp.resolve("layout-" + dtype.label());
        try (WritableStore s = EmbeddingStore.builder(dir).words(words(2)).dim(dim).dtype(dtype).init(Init.zeros()).create()) {
            s.write(1, new float[] {-1, 0, 1, 2, 14});
            MemorySegment row = s.rowSegment(1);
            assertEquals(dtype == Dtype.Q8 ? 13 : 7, row.byteSize());
            assertEquals(dtype.rowBytes(dim), row.byteSize());
            byte[] b = row.toArray(ValueLayout.JAVA_BYTE);
            if (dtype == Dtype.Q8) {
                assertEquals(15f / 255, QuantizedRows.scale(dtype, row, 0), Math.ulp(15f / 255));
                assertEquals(-1f, QuantizedRows.bias(dtype, row, 0));
                assertArrayEquals(new byte[] {0, 17, 34, 51, (byte) 255}, Arrays.copyOfRange(b, 8, 13));
            } else {
                assertEquals(1f, QuantizedRows.scale(dtype, row, 0), "15 / 15 is exact in binary16");
                assertEquals(-1f, QuantizedRows.bias(dtype, row, 0));
                // codes 0, 1, 2, 3, 15: low nibble first
                assertArrayEquals(new byte[] {0x10, 0x32, 0x0f}, Arrays.copyOfRange(b, 4, 7));
            }
        }
        String header = new String(Files.readAllBytes(dir.resolve(EmbeddingStore.MATRIX_FILE)), 0, 200, StandardCharsets.ISO_8859_1);
        String fields = dtype == Dtype.Q8 ? "[('scale', '<f4'), ('bias', '<f4'), ('q', '|u1', (5,))]"
                : "[('scale', '<f2'), ('bias', '<f2'), ('q', '|u1', (3,))]";
        assertTrue(header.contains("{'descr': " + fields + ", 'fortran_order': False, 'shape': (2,), }"), header);
        assertEquals(NpyHeader.BYTES + 2 * dtype.rowBytes(dim), Files.size(dir.resolve(EmbeddingStore.MATRIX_FILE)));
    }

    /** Reads of every kind agree bit for bit: read, both relaxed and consistent gathers into arrays and segments. */
    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void everyReadPathGivesTheSameDequantizedValues(Dtype dtype) {
        long seed = Seeds.seed("QuantizedRowsTest reads " + dtype);
        SplittableRandom random = new SplittableRandom(seed);
        int dim = 37;
        int rows = 50;
        try (WritableStore s = create("reads-" + dtype.label(), dtype, rows, dim)) {
            for (int r = 0; r < rows; r++) {
                float[] v = new float[dim];
                for (int i = 0; i < dim; i++) {
                    v[i] = (float) random.nextGaussian();
                }
                s.write(r, v);
            }
            int[] ids = new int[rows * 2];
            long[] longIds = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(rows);
                longIds[i] = ids[i];
            }
            float[] expected = new float[ids.length * dim];
            for (int i = 0; i < ids.length; i++) {
                s.read(ids[i], expected, i * dim, ReadMode.CONSISTENT);
            }
            for (ReadMode mode : ReadMode.values()) {
                float[] a = new float[expected.length];
                s.gather(ids, a, mode);
                assertArrayEquals(expected, a, "seed=" + seed + " gather int[] " + mode);
                s.gather(longIds, a, mode);
                assertArrayEquals(expected, a, "seed=" + seed + " gather long[] " + mode);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment seg = arena.allocate((long) expected.length * Float.BYTES);
                    s.gather(ids, seg, mode);
                    assertArrayEquals(expected, seg.toArray(ValueLayout.JAVA_FLOAT), "gather int[] to segment " + mode);
                    seg.fill((byte) 0);
                    s.gather(longIds, seg, mode);
                    assertArrayEquals(expected, seg.toArray(ValueLayout.JAVA_FLOAT), "gather long[] to segment " + mode);
                }
            }
        }
    }

    /**
     * Similarity on quantized rows, with both kernels, equals a brute-force cosine over the dequantized reads: same
     * rows in the same order with the same scores (the scan ranks by the codes, the answer is rescored from reads).
     */
    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void mostSimilarAndNormsAreThoseOfTheDequantizedRows(Dtype dtype) {
        long seed = Seeds.seed("QuantizedRowsTest similar " + dtype);
        SplittableRandom random = new SplittableRandom(seed);
        int dim = 61;
        int rows = 700;
        Path dir;
        try (WritableStore s = create("similar-" + dtype.label(), dtype, rows, dim)) {
            dir = s.path();
            for (int r = 0; r < rows; r++) {
                float[] v = new float[dim];
                for (int i = 0; i < dim; i++) {
                    v[i] = (float) random.nextGaussian() + (r % 5) * (i % 5 == 0 ? 1 : 0);
                }
                s.write(r, v);
            }
            s.mostSimilar("w0", 1); // creates norms.f32
            assertTrue(s.verify().problems().isEmpty(), "norms.f32 must hold the norms of the dequantized rows: "
                    + s.verify().problems());
        }
        float[][] all = new float[rows][dim];
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            for (int r = 0; r < rows; r++) {
                s.read(r, all[r]);
            }
            for (SimilarityKernel kernel : List.of(SimilarityKernel.scalar(), SimilarityKernel.simd())) {
                s.useKernel(kernel);
                for (int q = 0; q < 20; q++) {
                    int row = random.nextInt(rows);
                    List<Neighbor> got = s.mostSimilar("w" + row, 10);
                    List<Neighbor> expected = bruteForce(all, row, 10);
                    assertEquals(expected.stream().map(Neighbor::row).toList(), got.stream().map(Neighbor::row).toList(),
                            "seed=" + seed + " " + kernel.name() + " query row " + row);
                    for (int i = 0; i < got.size(); i++) {
                        assertEquals(expected.get(i).similarity(), got.get(i).similarity(), "score " + i);
                    }
                    assertEquals(expected.get(0).similarity(), s.similarity("w" + row, "w" + expected.get(0).row()), 1e-6);
                }
                List<Neighbor> analogy = s.analogy("w1", "w2", "w3", 5);
                assertEquals(5, analogy.size());
            }
        }
    }

    private static List<Neighbor> bruteForce(float[][] all, int query, int k) {
        List<Neighbor> out = new ArrayList<>();
        for (int r = 0; r < all.length; r++) {
            if (r == query) {
                continue;
            }
            out.add(new Neighbor(r, "w" + r, (float) SimilaritySearch.cosine(all[query], all[r])));
        }
        out.sort((a, b) -> a.similarity() != b.similarity() ? Float.compare(b.similarity(), a.similarity())
                : Long.compare(a.row(), b.row()));
        return out.subList(0, k);
    }

    /** A quantized store built from an f32 one (the conversion path of convert and compact) reads within the bound. */
    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void copyOfAnF32StoreQuantizesEveryRow(Dtype dtype) {
        int dim = 9;
        Path f32 = tmp.resolve("f32");
        try (WritableStore s = EmbeddingStore.builder(f32).words(words(30)).dim(dim).init(Init.normal(3)).create();
             WritableStore q = EmbeddingStore.builder(tmp.resolve("copy-" + dtype.label())).init(Init.copyOf(s)).dtype(dtype).create()) {
            assertEquals(dtype, q.dtype());
            assertEquals(30, q.rows());
            float[] x = new float[dim];
            float[] y = new float[dim];
            for (int r = 0; r < 30; r++) {
                s.read(r, x);
                q.read(r, y);
                assertWithinBound(dtype, x, y, q.rowSegment(r), "copied row " + r);
                assertEquals(s.word(r), q.word(r));
            }
            assertEquals(Set.of(), Set.copyOf(q.verify().problems()));
        }
        try (EmbeddingStore q = EmbeddingStore.open(tmp.resolve("copy-" + dtype.label()))) {
            assertEquals(dtype, q.dtype());
        }
    }
}
