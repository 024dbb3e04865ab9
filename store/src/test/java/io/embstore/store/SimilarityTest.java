package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Similarity queries against a brute-force double-precision reference. Every query test runs once per kernel (scalar
 * and SIMD, constructed directly), on odd, prime dims so that vector tails run.
 */
class SimilarityTest {
    /** Rounding of the float ranking scan: rows closer than this to the k-th may trade places. */
    private static final double RANK_TOLERANCE = 1e-5;
    /** Returned similarities are recomputed in double and rounded to float once. */
    private static final double VALUE_TOLERANCE = 1e-6;

    @TempDir
    Path tmp;

    static Stream<SimilarityKernel> kernels() {
        return Stream.of(SimilarityKernel.scalar(), SimilarityKernel.simd());
    }

    /** Kernel x dtype x shape: 1021 dims is one thread over few rows, 7 dims many rows on every processor. */
    static Stream<Arguments> tables() {
        List<Arguments> out = new ArrayList<>();
        for (SimilarityKernel k : kernels().toList()) {
            for (Dtype d : Dtype.values()) {
                out.add(Arguments.of(k, d, 1021, 1500));
                out.add(Arguments.of(k, d, 7, 160_003));
            }
        }
        return out.stream();
    }

    /** The tables with many dims: enough to check norms row by row. */
    static Stream<Arguments> wideTables() {
        return tables().filter(a -> (int) a.get()[2] > 100);
    }

    private static long seed(String test) {
        return Seeds.seed(test);
    }

    private static List<String> words(int n) {
        List<String> w = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            w.add(i % 11 == 0 ? "wört-" + i : "w" + i);
        }
        return w;
    }

    /** A random table with a padding row (2) and two zero rows (3 and rows - 1), which must never be returned. */
    private WritableStore randomStore(String name, Dtype dtype, int dim, int rows, long seed) {
        WritableStore s = EmbeddingStore.builder(tmp.resolve(name)).words(words(rows)).dim(dim).dtype(dtype)
                .paddingIndex(2).init(Init.normal(seed)).create();
        s.write(3, new float[dim]);
        s.write(rows - 1, new float[dim]);
        return s;
    }

    /** Every row as the store holds it (after f16 rounding), in double. */
    private static double[][] table(EmbeddingStore s) {
        double[][] t = new double[(int) s.rows()][s.dim()];
        float[] row = new float[s.dim()];
        for (int r = 0; r < t.length; r++) {
            s.read(r, row);
            for (int i = 0; i < row.length; i++) {
                t[r][i] = row[i];
            }
        }
        return t;
    }

    private static double cosine(double[] q, double[] x) {
        double dot = 0;
        double qq = 0;
        double xx = 0;
        for (int i = 0; i < q.length; i++) {
            dot += q[i] * x[i];
            qq += q[i] * q[i];
            xx += x[i] * x[i];
        }
        return xx == 0 || qq == 0 ? Double.NaN : dot / Math.sqrt(qq * xx);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** Reference similarity of every row to {@code q}; NaN for rows that may not be returned. */
    private static double[] reference(double[][] table, double[] q, long paddingRow, Set<Long> excluded) {
        double[] sims = new double[table.length];
        for (int r = 0; r < table.length; r++) {
            sims[r] = r == paddingRow || excluded.contains((long) r) ? Double.NaN : cosine(q, table[r]);
        }
        return sims;
    }

    /**
     * The result has the reference's length, every similarity is the reference's for its row, and the i-th equals the
     * reference's i-th best up to ranking rounding (so ties may swap, nothing else may).
     */
    private static void assertMatches(double[] ref, List<Neighbor> actual, int k, String context) {
        double[] sorted = IntStream.range(0, ref.length).mapToDouble(r -> ref[r]).filter(d -> !Double.isNaN(d))
                .boxed().sorted(Comparator.reverseOrder()).mapToDouble(Double::doubleValue).toArray();
        assertEquals(Math.min(k, sorted.length), actual.size(), context + ": result count");
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < actual.size(); i++) {
            Neighbor n = actual.get(i);
            assertTrue(seen.add(n.row()), context + ": row " + n.row() + " returned twice");
            double expected = ref[(int) n.row()];
            assertFalse(Double.isNaN(expected), context + ": row " + n.row() + " must not be returned");
            assertEquals(expected, n.similarity(), VALUE_TOLERANCE, context + ": similarity of row " + n.row());
            assertEquals(sorted[i], n.similarity(), RANK_TOLERANCE, context + ": rank " + i + " is row " + n.row());
        }
    }

    @ParameterizedTest
    @MethodSource("tables")
    void mostSimilarEqualsTheReference(SimilarityKernel kernel, Dtype dtype, int dim, int rows) {
        long seed = seed("mostSimilarEqualsTheReference " + kernel + " " + dtype + " " + dim);
        try (WritableStore s = randomStore("r", dtype, dim, rows, seed)) {
            s.useKernel(kernel);
            double[][] t = table(s);
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int trial = 0; trial < 3; trial++) {
                int row = 10 + rnd.nextInt(rows - 20);
                String word = s.word(row);
                List<Neighbor> got = s.mostSimilar(word, 10);
                assertMatches(reference(t, t[row], 2, Set.of((long) row)), got, 10, word);
                for (Neighbor n : got) {
                    assertEquals(s.word(n.row()), n.word());
                }
            }
            float[] q = new float[dim];
            for (int i = 0; i < dim; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
            List<Neighbor> got = s.mostSimilar(q, 25, Set.of("w5", "absent-word"));
            assertMatches(reference(t, toDouble(q), 2, Set.of(5L)), got, 25, "random query");
        }
    }

    @ParameterizedTest
    @MethodSource("tables")
    void batchEqualsOneByOne(SimilarityKernel kernel, Dtype dtype, int dim, int rows) {
        long seed = seed("batchEqualsOneByOne " + kernel + " " + dtype + " " + dim);
        try (WritableStore s = randomStore("b", dtype, dim, rows, seed)) {
            s.useKernel(kernel);
            SplittableRandom rnd = new SplittableRandom(seed);
            // 11 queries, each its own pass over every block of rows.
            float[][] queries = new float[11][dim];
            for (float[] q : queries) {
                for (int i = 0; i < dim; i++) {
                    q[i] = (float) rnd.nextGaussian();
                }
            }
            Set<String> exclude = Set.of("w7", "w8");
            List<List<Neighbor>> batch = s.mostSimilar(queries, 8, exclude);
            assertEquals(queries.length, batch.size());
            double[][] t = table(s);
            for (int i = 0; i < queries.length; i++) {
                assertEquals(s.mostSimilar(queries[i], 8, exclude), batch.get(i), "query " + i);
                assertMatches(reference(t, toDouble(queries[i]), 2, Set.of(7L, 8L)), batch.get(i), 8, "query " + i);
            }
        }
    }

    @Test
    void simdAndScalarGiveTheSameTopK() {
        long seed = seed("simdAndScalarGiveTheSameTopK");
        SimilarityKernel scalar = SimilarityKernel.scalar();
        SimilarityKernel simd = SimilarityKernel.simd();
        for (Dtype dtype : Dtype.values()) {
            try (WritableStore s = randomStore("k" + dtype, dtype, 1021, 1200, seed)) {
                for (int row = 100; row < 1100; row += 97) {
                    s.useKernel(scalar);
                    List<Neighbor> a = s.mostSimilar(s.word(row), 10);
                    s.useKernel(simd);
                    List<Neighbor> b = s.mostSimilar(s.word(row), 10);
                    // Float rankings differ by rounding only; on Gaussian data the top 10 are far apart.
                    assertEquals(a, b, dtype + " row " + row);
                }
            }
        }
    }

    @Test
    void kernelsAgreeOnDotsAndSumsOfSquares() {
        long seed = seed("kernelsAgreeOnDotsAndSumsOfSquares");
        SplittableRandom rnd = new SplittableRandom(seed);
        SimilarityKernel scalar = SimilarityKernel.scalar();
        SimilarityKernel simd = SimilarityKernel.simd();
        // Dims below, at and around the vector widths (4, 8, 16 lanes), and block sizes around the groups of four rows.
        for (int dim : new int[] {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 300, 1021}) {
            for (int n : new int[] {1, 3, 4, 5, 8, 11, 16}) {
                float[] query = new float[dim];
                for (int i = 0; i < dim; i++) {
                    query[i] = (float) rnd.nextGaussian();
                }
                float[] table = new float[3 + n * dim];
                for (int i = 0; i < table.length; i++) {
                    table[i] = (float) rnd.nextGaussian();
                }
                // Rows 3 floats in (unaligned), and both byte orders of the mapped and the heap paths.
                for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
                    MemorySegment seg = Arena.ofAuto().allocate(4L * table.length, Float.BYTES);
                    for (int i = 0; i < table.length; i++) {
                        seg.set(SimilarityKernel.floatLayout(order), 4L * i, table[i]);
                    }
                    float[] a = new float[n + 1];
                    float[] b = new float[n + 1];
                    a[n] = 42;
                    b[n] = 42;
                    scalar.rowDots(query, seg, 12, order, dim, n, a);
                    simd.rowDots(query, seg, 12, order, dim, n, b);
                    for (int j = 0; j < n; j++) {
                        double exact = 0;
                        double scale = 0;
                        for (int i = 0; i < dim; i++) {
                            double p = (double) query[i] * table[3 + j * dim + i];
                            exact += p;
                            scale += Math.abs(p);
                        }
                        String where = order + " dim " + dim + " n " + n + " row " + j;
                        assertEquals(exact, a[j], 1e-6 * scale + 1e-6, "scalar " + where);
                        assertEquals(exact, b[j], 1e-6 * scale + 1e-6, "simd " + where);
                    }
                    assertEquals(42f, a[n], "scalar wrote past its n rows");
                    assertEquals(42f, b[n], "simd wrote past its n rows");
                }
            }
            float[] row = new float[dim + 3];
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) rnd.nextGaussian();
            }
            MemorySegment seg = MemorySegment.ofArray(row);
            double squares = 0;
            for (int i = 0; i < dim; i++) {
                squares += (double) row[i + 3] * row[i + 3];
            }
            assertEquals(squares, scalar.sumOfSquares(seg, 12, ByteOrder.nativeOrder(), dim), 1e-5 * squares);
            assertEquals(squares, simd.sumOfSquares(seg, 12, ByteOrder.nativeOrder(), dim), 1e-5 * squares);
        }
    }

    /**
     * A row's scan score must not depend on which rows it was scored with: the scan splits the rows into parts by the
     * number of processors and into blocks, so the same row falls in a group of eight, a group of four or the leftover
     * rows depending on the machine, and a score that changed with that could change which of two near-equal rows is
     * kept at the k-th place. Checked in an interpreted child JVM: {@code reduceLanes} may add lanes in another order
     * once the JIT compiles a method, and one JVM can run one method compiled and another not; what is checked here is
     * that every group computes each row with the same operations in the same order.
     */
    @Test
    void aRowsDotIsTheSameWhateverRowsItIsScoredWith() throws Exception {
        long seed = seed("aRowsDotIsTheSameWhateverRowsItIsScoredWith");
        String output = JavaChild.of(RowGroupingMain.class, Long.toString(seed))
                .jvm("-Xint", "-Xmx128m", "--add-modules", "jdk.incubator.vector").mergeStderr().run(Duration.ofSeconds(300));
        assertTrue(output.contains("scalar: same"), output);
        assertTrue(output.contains("simd: same"), output);
    }

    /**
     * The SIMD tail reads the last full vector of each row: it must stay inside the rows asked for (the segment ends
     * with the last row, so a read past it throws) and a row's dot must not see its neighbours, even non-finite ones.
     */
    @ParameterizedTest
    @MethodSource("kernels")
    void rowDotsReadOnlyTheirRows(SimilarityKernel kernel) {
        for (int dim : new int[] {5, 16, 17, 20, 300}) {
            int n = 9;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment rows = arena.allocate(4L * n * dim);
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < dim; i++) {
                        // Odd rows are poison: NaN and infinities at both ends, where a neighbour's tail would reach.
                        float x = j % 2 == 0 ? (j + 1) * 0.5f : (i % 2 == 0 ? Float.NaN : Float.POSITIVE_INFINITY);
                        rows.set(SimilarityKernel.F32_LE, 4L * (j * dim + i), x);
                    }
                }
                float[] query = new float[dim];
                for (int i = 0; i < dim; i++) {
                    query[i] = i + 1;
                }
                float[] out = new float[n];
                kernel.rowDots(query, rows, 0, ByteOrder.LITTLE_ENDIAN, dim, n, out);
                double sum = dim * (dim + 1) / 2.0;
                for (int j = 0; j < n; j += 2) {
                    assertEquals((j + 1) * 0.5 * sum, out[j], 1e-6 * (j + 1) * sum, kernel + " dim " + dim + " row " + j);
                }
                for (int j = 1; j < n; j += 2) {
                    assertFalse(Float.isFinite(out[j]), kernel + " dim " + dim + " poison row " + j + " gave " + out[j]);
                }
            }
        }
    }

    /**
     * Rows with NaN or infinite values are never ranked, and do not disturb their neighbours: the SIMD kernel reads
     * rows four at a time and each row's tail as a full vector, on dims with and without a tail.
     */
    @ParameterizedTest
    @MethodSource("kernels")
    void nonFiniteRowsAreNeverRankedNorDisturbTheirNeighbours(SimilarityKernel kernel) {
        long seed = seed("nonFiniteRowsAreNeverRankedNorDisturbTheirNeighbours " + kernel);
        // Quantized rows refuse non-finite values (QuantizedRowsTest): only the float dtypes can hold such rows.
        for (Dtype dtype : new Dtype[] {Dtype.F32, Dtype.F16}) {
            for (int dim : new int[] {20, 32, 301}) {
                int rows = 300;
                try (WritableStore s = randomStore("nf" + dtype + dim, dtype, dim, rows, seed)) {
                    s.useKernel(kernel);
                    Set<Long> poison = Set.of(9L, 10L, 11L, 40L, 41L, 42L, 43L, 200L);
                    for (long row : poison) {
                        float[] x = new float[dim];
                        for (int i = 0; i < dim; i++) {
                            x[i] = 0.5f;
                        }
                        x[0] = row % 2 == 0 ? Float.NaN : Float.POSITIVE_INFINITY;
                        x[dim - 1] = row % 3 == 0 ? Float.NEGATIVE_INFINITY : Float.NaN;
                        s.write(row, x);
                    }
                    double[][] t = table(s);
                    for (int row : new int[] {8, 12, 39, 44, 199, 201}) {
                        Set<Long> excluded = new HashSet<>(poison);
                        excluded.add((long) row);
                        List<Neighbor> got = s.mostSimilar(s.word(row), 15);
                        assertMatches(reference(t, t[row], 2, excluded), got, 15, dtype + " dim " + dim + " row " + row);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void halvesDecodeBitForBitAsFloat16ToFloat(SimilarityKernel kernel) {
        // Every binary16 value, at an offset so the vector body and the scalar tail both run.
        int n = 65536 + 5;
        MemorySegment src = MemorySegment.ofArray(new short[n + 1]);
        for (int i = 0; i < n; i++) {
            src.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2 + 2L * i, (short) i);
        }
        float[] dst = new float[n];
        kernel.decodeHalves(src, 2, n, new short[n], dst);
        for (int i = 0; i < n; i++) {
            float expected = Float.float16ToFloat((short) i);
            if (Float.isNaN(expected)) {
                // Whether a signalling NaN comes back quiet depends on the JIT (vcvtph2ps quiets it): NaN is enough.
                assertTrue(Float.isNaN(dst[i]), "half 0x" + Integer.toHexString(i & 0xffff) + " is NaN, got " + dst[i]);
                continue;
            }
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(dst[i]),
                    "half 0x" + Integer.toHexString(i & 0xffff) + " = " + expected + ", got " + dst[i]);
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void exclusionsPaddingAndZeroRowsAreNeverReturned(SimilarityKernel kernel) {
        int dim = 7;
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("x")).words(List.of("a", "b", "c", "d", "pad", "zero"))
                .dim(dim).paddingIndex(4).init(Init.zeros()).create()) {
            s.useKernel(kernel);
            s.write(0, new float[] {1, 0, 0, 0, 0, 0, 0});
            s.write(1, new float[] {1, 0.1f, 0, 0, 0, 0, 0});
            s.write(2, new float[] {1, 0.5f, 0, 0, 0, 0, 0});
            s.write(3, new float[] {-1, 0, 0, 0, 0, 0, 0});
            List<Neighbor> all = s.mostSimilar("a", 10);
            assertEquals(List.of("b", "c", "d"), all.stream().map(Neighbor::word).toList(), "no a, pad or zero");
            assertEquals(-1f, all.get(2).similarity(), 1e-6);
            assertEquals(List.of("c", "d"), s.mostSimilar("a", 10).stream().skip(1).map(Neighbor::word).toList());
            float[] q = {1, 0, 0, 0, 0, 0, 0};
            assertEquals(List.of("a", "b"), s.mostSimilar(q, 2, Set.of()).stream().map(Neighbor::word).toList());
            assertEquals(List.of("c", "d"), s.mostSimilar(q, 2, Set.of("a", "b")).stream().map(Neighbor::word).toList());
            assertEquals(List.of(), s.mostSimilar(q, 0, Set.of()));
            assertEquals(1f, s.mostSimilar(q, 1, Set.of()).get(0).similarity());
        }
    }

    @Test
    void badQueriesAreClearErrors() {
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("e")).words(List.of("a", "b", "zero")).dim(3)
                .init(Init.normal(1)).create()) {
            s.write(2, new float[3]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.mostSimilar("absent", 3));
            assertTrue(e.getMessage().contains("'absent'"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.analogy("a", "b", "nowhere", 3));
            assertTrue(e.getMessage().contains("'nowhere'"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.similarity("missing", "a"));
            assertTrue(e.getMessage().contains("'missing'"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.mostSimilar("zero", 3));
            assertTrue(e.getMessage().contains("zero vector"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.mostSimilar(new float[4], 3, Set.of()));
            assertTrue(e.getMessage().contains("4 values"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.mostSimilar(new float[][] {{1, 2, 3}, {0, Float.NaN, 0}}, 3, Set.of()));
            assertTrue(e.getMessage().contains("query 1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.mostSimilar("a", -1));
        }
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("ids")).rows(4).vocabulary(false).dim(3)
                .init(Init.normal(2)).create()) {
            assertThrows(IllegalStateException.class, () -> s.mostSimilar("a", 3));
            List<Neighbor> got = s.mostSimilar(new float[] {1, 2, 3}, 4, Set.of());
            assertEquals(4, got.size());
            got.forEach(n -> assertNull(n.word()));
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void analogyNormalisesBeforeCombiningAsGensimDoes(SimilarityKernel kernel) {
        // king is long: on raw vectors king - man + woman points at throne; on unit vectors (gensim) at queen.
        List<String> w = List.of("man", "woman", "king", "queen", "throne", "apple");
        float[][] v = {{1, 0, 0}, {0, 1, 0}, {10, 0, 10}, {0, 1, 1}, {1, 0.05f, 1}, {0, 0, -1}};
        try (WritableStore s = EmbeddingStore.builder(tmp.resolve("a")).words(w).dim(3).init(Init.zeros()).create()) {
            s.useKernel(kernel);
            for (int r = 0; r < v.length; r++) {
                s.write(r, v[r]);
            }
            List<Neighbor> got = s.analogy("man", "king", "woman", 3);
            assertEquals(List.of("queen", "throne", "apple"), got.stream().map(Neighbor::word).toList());
            double[] q = new double[3];
            for (int i = 0; i < 3; i++) {
                q[i] = v[2][i] / Math.sqrt(200) + v[1][i] - v[0][i];
            }
            assertEquals(cosine(q, toDouble(v[3])), got.get(0).similarity(), VALUE_TOLERANCE);
            assertEquals(cosine(toDouble(v[2]), toDouble(v[4])), s.similarity("king", "throne"), VALUE_TOLERANCE);
            assertEquals(1f, s.similarity("queen", "queen"), VALUE_TOLERANCE);
        }
    }

    private static float[] normsFile(Path dir) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(RowNorms.FILE))).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static void assertNorms(EmbeddingStore s) throws IOException {
        float[] norms = normsFile(s.path());
        float[] row = new float[s.dim()];
        for (int r = 0; r < s.rows(); r++) {
            s.read(r, row);
            double sum = 0;
            for (float x : row) {
                sum += (double) x * x;
            }
            assertEquals((float) Math.sqrt(sum), norms[r], "norm of row " + r);
        }
    }

    @ParameterizedTest
    @MethodSource("wideTables")
    void normsStayCurrentThroughWritesAndAppends(SimilarityKernel kernel, Dtype dtype, int dim, int rows) throws IOException {
        long seed = seed("normsStayCurrentThroughWritesAndAppends " + dtype);
        Path dir = tmp.resolve("n");
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[dim];
        try (WritableStore s = randomStore("n", dtype, dim, rows, seed)) {
            s.useKernel(kernel);
            assertFalse(Files.exists(dir.resolve(RowNorms.FILE)), "a new store has no norms until a query needs them");
            s.mostSimilar("w10", 5);
            assertEquals(RowNorms.fileBytes(rows), Files.size(dir.resolve(RowNorms.FILE)));
            assertNorms(s);
            for (int i = 0; i < dim; i++) {
                v[i] = (float) (3 * rnd.nextGaussian());
            }
            s.write(10, v);
            s.write(11, new float[dim]);
            // Enough appends to grow every file twice.
            for (int n = 0; n < rows; n++) {
                for (int i = 0; i < dim; i++) {
                    v[i] = (float) rnd.nextGaussian();
                }
                s.append("new" + n, v);
            }
            assertNorms(s);
            assertEquals(RowNorms.fileBytes(ControlBlockView.capacity(dir)), Files.size(dir.resolve(RowNorms.FILE)));
            double[][] t = table(s);
            assertMatches(reference(t, t[10], 2, Set.of(10L)), s.mostSimilar("w10", 10), 10, "after writes");
        }
        try (EmbeddingStore reader = EmbeddingStore.open(dir)) {
            reader.useKernel(kernel);
            assertNorms(reader);
            double[][] t = table(reader);
            assertMatches(reference(t, t[rows + 5], 2, Set.of((long) rows + 5)), reader.mostSimilar("new5", 10), 10, "reader");
        }
    }

    /** Without current norms the scan computes them itself, for f16 from the decoded rows. */
    @ParameterizedTest
    @EnumSource(Dtype.class)
    void aReaderIgnoresStaleNormsAndTheWriterRecomputesThem(Dtype dtype) throws IOException {
        long seed = seed("aReaderIgnoresStaleNormsAndTheWriterRecomputesThem " + dtype);
        Path dir = tmp.resolve("stale");
        try (WritableStore s = randomStore("stale", dtype, 31, 500, seed)) {
            s.computeNorms();
        }
        // What a crash can leave: norms that are not those of the rows, and norms_rows saying they are not current.
        try (FileChannel ch = FileChannel.open(dir.resolve(RowNorms.FILE), StandardOpenOption.WRITE)) {
            ByteBuffer garbage = ByteBuffer.allocate(500 * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < 500; r++) {
                garbage.putFloat(r % 2 == 0 ? 1e-3f : 1e3f);
            }
            ch.write(garbage.flip(), 0);
        }
        ControlBlockView.normsRows(dir, 0);
        try (EmbeddingStore reader = EmbeddingStore.open(dir)) {
            double[][] t = table(reader);
            for (SimilarityKernel kernel : kernels().toList()) {
                reader.useKernel(kernel);
                assertMatches(reference(t, t[42], 2, Set.of(42L)), reader.mostSimilar("w42", 20), 20, "stale norms " + kernel);
            }
        }
        try (WritableStore writer = EmbeddingStore.openForWriting(dir)) {
            writer.mostSimilar("w42", 1);
            assertNorms(writer);
        }
    }

    @Test
    void aNormsFileOfTheWrongSizeIsAStoreException() throws IOException {
        Path dir = tmp.resolve("size");
        try (WritableStore s = randomStore("size", Dtype.F16, 7, 100, 1)) {
            s.computeNorms();
        }
        try (FileChannel ch = FileChannel.open(dir.resolve(RowNorms.FILE), StandardOpenOption.WRITE)) {
            ch.truncate(99 * 4 + 2);
        }
        StoreException e = assertThrows(StoreException.class, () -> EmbeddingStore.open(dir));
        assertEquals(dir.resolve(RowNorms.FILE), e.path());
        assertTrue(e.getMessage().contains("norms.f32") && e.getMessage().contains("398"), e.getMessage());
        assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir));
    }

    /** Reads and writes fields of control.bin from outside the store, as another process would. */
    private static final class ControlBlockView {
        static long capacity(Path dir) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(EmbeddingStore.CONTROL_FILE))).order(ByteOrder.LITTLE_ENDIAN);
            return b.getLong((int) ControlBlock.CAPACITY_OFFSET);
        }

        static void normsRows(Path dir, long rows) throws IOException {
            try (FileChannel ch = FileChannel.open(dir.resolve(EmbeddingStore.CONTROL_FILE), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, rows), ControlBlock.NORMS_ROWS_OFFSET);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ real data

    /**
     * The project's shared test data, {@code ../shared/data} beside the repository (found by walking up from the
     * working directory), or {@code $EMBSTORE_TEST_DATA}. Absent, the test is skipped, except under CI=true.
     */
    static Path sharedData(String file) {
        List<Path> tried = new ArrayList<>();
        String env = System.getenv("EMBSTORE_TEST_DATA");
        if (env != null && !env.isEmpty()) {
            tried.add(Path.of(env));
        }
        for (Path p = Path.of("").toAbsolutePath(); p.getParent() != null; p = p.getParent()) {
            tried.add(p.getParent().resolve("shared").resolve("data"));
        }
        for (Path dir : tried) {
            if (Files.isRegularFile(dir.resolve(file))) {
                return dir.resolve(file);
            }
        }
        String message = file + " not found in ../shared/data (looked in " + tried
                + "); set EMBSTORE_TEST_DATA to the folder to run this test";
        if ("true".equals(System.getenv("CI"))) {
            fail(message);
        }
        Assumptions.abort("skipped: " + message);
        throw new AssertionError("unreachable");
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void gloveVectorsMatchABruteForceReference(SimilarityKernel kernel) throws IOException {
        Path file = sharedData("test_glove.txt");
        List<String> words = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.split(" ");
            float[] v = new float[parts.length - 1];
            for (int i = 0; i < v.length; i++) {
                v[i] = Float.parseFloat(parts[i + 1]);
            }
            words.add(parts[0]);
            vectors.add(v);
        }
        int dim = vectors.get(0).length;
        assertEquals(50, dim);
        assertTrue(words.stream().anyMatch(w -> w.chars().anyMatch(c -> c > 127)), "the file has non-ASCII words");
        Path dir = tmp.resolve("glove");
        try (Draft d = EmbeddingStore.builder(dir).dim(dim).draft()) {
            d.ensureCapacity(words.size());
            d.ensureWordCapacity(words.stream().mapToLong(w -> 8 + w.getBytes(StandardCharsets.UTF_8).length).sum());
            for (int r = 0; r < words.size(); r++) {
                assertEquals(dim, vectors.get(r).length, "line " + (r + 1));
                d.putRow(r, vectors.get(r), 0);
                d.putWord(r, MemorySegment.ofArray(words.get(r).getBytes(StandardCharsets.UTF_8)));
            }
            assertEquals(words.size(), d.commit(words.size(), OnDuplicate.KEEP_FIRST, null));
        }
        double[][] t = vectors.stream().map(SimilarityTest::toDouble).toArray(double[][]::new);
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            s.useKernel(kernel);
            for (int r = 0; r < words.size(); r++) {
                List<Neighbor> got = s.mostSimilar(words.get(r), 10);
                assertMatches(reference(t, t[r], -1, Set.of((long) r)), got, 10, words.get(r));
                for (Neighbor n : got) {
                    assertEquals(words.get((int) n.row()), n.word());
                }
                int other = (r * 7 + 3) % words.size();
                assertEquals(cosine(t[r], t[other]), s.similarity(words.get(r), words.get(other)), VALUE_TOLERANCE);
            }
            // Analogies against gensim's formula: unit(b) + unit(c) - unit(a), a, b, c left out.
            for (int a = 0; a + 2 < words.size(); a += 5) {
                int b = a + 1;
                int c = a + 2;
                double[] q = new double[dim];
                for (int i = 0; i < dim; i++) {
                    q[i] = t[b][i] / Math.sqrt(dot(t[b], t[b])) + t[c][i] / Math.sqrt(dot(t[c], t[c]))
                            - t[a][i] / Math.sqrt(dot(t[a], t[a]));
                }
                List<Neighbor> got = s.analogy(words.get(a), words.get(b), words.get(c), 5);
                assertMatches(reference(t, q, -1, Set.of((long) a, (long) b, (long) c)), got, 5,
                        words.get(a) + " : " + words.get(b) + " :: " + words.get(c));
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @Test
    void withoutTheVectorModuleTheStoreLoadsAndUsesTheScalarKernel() throws Exception {
        Path dir = tmp.resolve("child");
        try (WritableStore s = randomStore("child", Dtype.F32, 13, 200, 3)) {
            s.computeNorms();
        }
        // No JVM options: above all not the Vector API module.
        String output = JavaChild.of(ScalarFallbackMain.class, dir.toString()).jvm().mergeStderr().run(Duration.ofSeconds(120));
        assertTrue(output.contains("kernel=scalar"), output);
        assertTrue(output.contains("neighbours=5"), output);
        assertTrue(output.contains("jdk.incubator.vector"), "the log says why: " + output);
    }
}
