package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.embstore.testkit.Numpy;
import io.embstore.testkit.Seeds;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code numpy.load(dir + "/matrix.npy", mmap_mode="r")} in a real Python sees the store's shape, dtype and every
 * value bit for bit, before and after the table grows. Needs {@code python3} with NumPy: the test fails without them
 * when the environment variable {@code CI} is {@code true} and is skipped otherwise.
 *
 * <p>Randomised: each dtype's seed is printed; replay one with {@code EMBSTORE_SEED=N}.
 */
class NumpyInteropTest {
    private static final int ROWS = 37;
    private static final int DIM = 13;
    private static final int APPENDED = 30;
    /** Prints the shape, dtype and class of the loaded array, then its raw bytes and its bytes as float32, in hex. */
    private static final String SCRIPT = """
            import sys
            import numpy as np
            a = np.load(sys.argv[1] + "/matrix.npy", mmap_mode="r")
            print(a.shape[0], a.shape[1], a.dtype.str, type(a).__name__, a.flags["C_CONTIGUOUS"])
            print(np.ascontiguousarray(a).tobytes().hex())
            print(np.ascontiguousarray(a.astype("<f4")).tobytes().hex())
            """;
    /** Values that are easy to get wrong: signed zeros, infinities, NaN, the extremes of both formats, subnormals. */
    private static final float[] SPECIAL = {0f, -0f, 1f, -1f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.MIN_VALUE, Float.MAX_VALUE, 65504f, 6.1035156e-5f, 5.9604645e-8f, -1e-10f};

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireNumpy() {
        Numpy.require("NumPy interop");
    }

    /** What numpy saw. */
    private record Loaded(long rows, int dim, String dtype, String type, boolean cOrder, byte[] raw, byte[] asF32) {
    }

    private static Loaded numpyLoad(Path dir) throws Exception {
        Path err = Files.createTempFile(dir.getParent(), "python", ".stderr");
        Process p = new ProcessBuilder("python3", "-c", SCRIPT, dir.toString()).redirectError(err.toFile()).start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                fail("python3 did not finish within 60 s");
            }
        } finally {
            p.destroyForcibly();
        }
        String stderr = Files.readString(err);
        assertEquals(0, p.exitValue(), "numpy.load failed:\n" + stderr);
        String[] lines = out.split("\n");
        assertEquals(3, lines.length, "unexpected python output:\n" + out + "\n" + stderr);
        String[] head = lines[0].strip().split(" ");
        return new Loaded(Long.parseLong(head[0]), Integer.parseInt(head[1]), head[2], head[3], Boolean.parseBoolean(head[4]),
                HexFormat.of().parseHex(lines[1].strip()), HexFormat.of().parseHex(lines[2].strip()));
    }

    /** The store's bits of a value as written, in its dtype. */
    private static int storedBits(float v, Dtype dtype) {
        return dtype == Dtype.F16 ? Float.floatToFloat16(v) & 0xffff : Float.floatToRawIntBits(v);
    }

    /** The value a read gives back, as float32 bits. */
    private static int readBits(float v, Dtype dtype) {
        return Float.floatToRawIntBits(dtype == Dtype.F16 ? Float.float16ToFloat(Float.floatToFloat16(v)) : v);
    }

    /** Checks numpy's view against what was written ({@code expected}) and against what the store reads. */
    private static void assertNumpySees(Path dir, EmbeddingStore store, List<float[]> expected, long headerRows) throws Exception {
        Dtype dtype = store.dtype();
        Loaded a = numpyLoad(dir);
        assertEquals(headerRows, a.rows(), "numpy row count");
        assertEquals(DIM, a.dim(), "numpy dim");
        assertEquals(dtype == Dtype.F16 ? "<f2" : "<f4", a.dtype(), "numpy dtype");
        assertEquals("memmap", a.type(), "numpy.load(mmap_mode='r') must map the file as it is");
        assertTrue(a.cOrder(), "C order");
        assertEquals(headerRows * DIM * dtype.bytes(), a.raw().length);
        assertEquals(headerRows * DIM * Float.BYTES, a.asF32().length);
        ByteBuffer raw = ByteBuffer.wrap(a.raw()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer f32 = ByteBuffer.wrap(a.asF32()).order(ByteOrder.LITTLE_ENDIAN);
        float[] read = new float[DIM];
        for (int r = 0; r < headerRows; r++) {
            store.read(r, read);
            for (int c = 0; c < DIM; c++) {
                float v = expected.get(r)[c];
                int at = r * DIM + c;
                int numpyRaw = dtype == Dtype.F16 ? raw.getShort(at * 2) & 0xffff : raw.getInt(at * 4);
                String where = dtype + " row " + r + " col " + c + " value " + v;
                assertEquals(Integer.toHexString(storedBits(v, dtype)), Integer.toHexString(numpyRaw), "raw bits, " + where);
                assertEquals(Integer.toHexString(readBits(v, dtype)), Integer.toHexString(f32.getInt(at * 4)),
                        "numpy's float32, " + where);
                assertEquals(Integer.toHexString(readBits(v, dtype)), Integer.toHexString(Float.floatToRawIntBits(read[c])),
                        "the store's read, " + where);
            }
        }
    }

    private static float[] randomRow(SplittableRandom random) {
        float[] row = new float[DIM];
        for (int c = 0; c < DIM; c++) {
            row[c] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
        }
        return row;
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"F32", "F16"}) // q8/q4: QuantizedNumpyTest
    void numpyMapsTheMatrixAndSeesEveryValue(Dtype dtype) throws Exception {
        long seed = Seeds.seed("NumpyInteropTest " + dtype);
        SplittableRandom random = new SplittableRandom(seed);
        Path dir = tmp.resolve("store-" + dtype.label());
        List<String> words = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        for (int r = 0; r < ROWS; r++) {
            words.add("w" + r);
            expected.add(r == 0 ? SPECIAL.clone() : randomRow(random));
        }
        try (WritableStore s = EmbeddingStore.builder(dir).words(words).dim(DIM).dtype(dtype).init(Init.zeros()).create()) {
            for (int r = 0; r < ROWS; r++) {
                s.write(r, expected.get(r));
            }
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertNumpySees(dir, s, expected, ROWS);
        }

        try (WritableStore s = EmbeddingStore.openForWriting(dir)) {
            for (int i = 0; i < APPENDED; i++) {
                float[] row = randomRow(random);
                expected.add(row);
                assertEquals(ROWS + i, s.append("new" + i, row));
            }
            // Appended but not flushed: the header still has the old shape and the (grown) file still loads.
            assertNumpySees(dir, s, expected, ROWS);
            s.flush();
            assertNumpySees(dir, s, expected, ROWS + APPENDED);
            s.write(5, SPECIAL);
            expected.set(5, SPECIAL.clone());
            // Writes to existing rows are in the shared mapping: numpy sees them without a flush.
            assertNumpySees(dir, s, expected, ROWS + APPENDED);
        }
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertEquals(ROWS + APPENDED, s.rows());
            assertNumpySees(dir, s, expected, ROWS + APPENDED);
        }
    }
}
