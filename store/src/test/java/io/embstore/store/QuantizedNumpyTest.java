package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.testkit.Numpy;
import io.embstore.testkit.Seeds;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The NumPy snippet that docs/FORMAT.md gives for dequantizing a q8/q4 {@code matrix.npy}, run as written in a real
 * python3: it must map the file and give the store's float32 reads bit for bit, before and after the table grows.
 * Needs python3 with NumPy (skipped without, failed when CI is true). Randomised: seeds are printed.
 */
class QuantizedNumpyTest {
    private static final String BEGIN = "<!-- quantized-numpy-snippet: begin -->";
    private static final String END = "<!-- quantized-numpy-snippet: end -->";

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireNumpy() {
        Numpy.require("the quantized matrix.npy snippet of docs/FORMAT.md");
    }

    /** The snippet's code, taken from docs/FORMAT.md so that the documentation cannot drift from what is tested. */
    private static String snippet() throws Exception {
        Path format = Path.of("..", "docs", "FORMAT.md");
        String doc = Files.readString(format);
        int begin = doc.indexOf(BEGIN);
        int end = doc.indexOf(END);
        assertTrue(begin >= 0 && end > begin, format.toAbsolutePath() + " must hold the snippet between its markers");
        String block = doc.substring(begin + BEGIN.length(), end).strip();
        assertTrue(block.startsWith("```python\n") && block.endsWith("```"), block);
        String code = block.substring("```python\n".length(), block.length() - 3);
        String path = "d = \"glove-q8.store\"";
        assertTrue(code.contains(path), code);
        return "import sys\n" + code.replace(path, "d = sys.stdin.read().strip()")
                + "print(type(m).__name__, m.dtype.itemsize, x.shape[0], x.shape[1], x.dtype.str)\n"
                + "print(np.ascontiguousarray(x, dtype='<f4').tobytes().hex())\n";
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"Q8", "Q4"})
    void theDocumentedSnippetDequantizesBitForBit(Dtype dtype) throws Exception {
        long seed = Seeds.seed("QuantizedNumpyTest " + dtype);
        SplittableRandom random = new SplittableRandom(seed);
        String script = snippet();
        for (int dim : new int[] {1, 13, 300}) {
            Path dir = tmp.resolve(dtype.label() + "-" + dim);
            int rows = 23;
            try (WritableStore s = EmbeddingStore.builder(dir).words(EmbeddingStoreTest.words(rows)).dim(dim).dtype(dtype)
                    .init(Init.zeros()).create()) {
                for (int r = 0; r < rows; r++) {
                    float[] v = new float[dim];
                    for (int i = 0; i < dim; i++) {
                        v[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 3)));
                    }
                    s.write(r, v);
                }
                for (int r = 0; r < 5; r++) {
                    float[] v = new float[dim];
                    java.util.Arrays.fill(v, r * 0.5f);
                    s.append("grown-" + r, v);
                }
                s.flush();
            }
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                List<String> out = Numpy.run(script, dir.toString());
                assertEquals(2, out.size(), out.toString());
                assertEquals("memmap " + dtype.rowBytes(dim) + " " + s.rows() + " " + dim + " <f4", out.get(0),
                        "seed=" + seed + " dim " + dim);
                ByteBuffer numpy = ByteBuffer.wrap(HexFormat.of().parseHex(out.get(1))).order(ByteOrder.LITTLE_ENDIAN);
                float[] row = new float[dim];
                for (int r = 0; r < s.rows(); r++) {
                    s.read(r, row);
                    for (int i = 0; i < dim; i++) {
                        int bits = numpy.getInt((r * dim + i) * 4);
                        assertEquals(Float.floatToRawIntBits(row[i]), bits, "seed=" + seed + " " + dtype + " dim " + dim
                                + " row " + r + " col " + i + ": store " + row[i] + ", numpy " + Float.intBitsToFloat(bits));
                    }
                }
            }
        }
    }
}
