package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.embstore.testkit.Seeds;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Vector API quantized kernel against the scalar one, on odd and prime widths so every tail runs: dequantization
 * bit for bit, code dots within float rounding. Randomised: the seed is printed.
 */
class QuantizedKernelTest {
    private static final QuantizedKernel SCALAR = QuantizedKernel.matching(SimilarityKernel.scalar());
    private static final QuantizedKernel SIMD = QuantizedKernel.matching(SimilarityKernel.simd());

    @Test
    void simdAndScalarAgree() {
        long seed = Seeds.seed("QuantizedKernelTest");
        SplittableRandom random = new SplittableRandom(seed);
        for (int dim : new int[] {1, 3, 7, 15, 16, 17, 31, 64, 300, 1021}) {
            int n = 9;
            long rowBytes = dim + 3; // rows not aligned, as in a matrix
            byte[] bytes = new byte[(int) (rowBytes * n)];
            random.nextBytes(bytes);
            MemorySegment rows = MemorySegment.ofArray(bytes);
            float[] q = new float[dim];
            for (int i = 0; i < dim; i++) {
                q[i] = (float) random.nextGaussian();
            }
            float[] a = new float[n];
            float[] b = new float[n];
            SCALAR.q8Dots(q, rows, 3, rowBytes, dim, n, a);
            SIMD.q8Dots(q, rows, 3, rowBytes, dim, n, b);
            int pairs = (dim + 1) / 2;
            float[] even = new float[pairs];
            float[] odd = new float[pairs];
            for (int i = 0; i < dim; i++) {
                (i % 2 == 0 ? even : odd)[i / 2] = q[i];
            }
            float[] c = new float[n];
            float[] d = new float[n];
            SCALAR.q4Dots(even, odd, rows, 3, rowBytes, pairs, n, c);
            SIMD.q4Dots(even, odd, rows, 3, rowBytes, pairs, n, d);
            for (int j = 0; j < n; j++) {
                double bound = 255 * 4e-7 * dim * 4;
                assertEquals(a[j], b[j], bound, "seed=" + seed + " q8 dim " + dim + " row " + j);
                assertEquals(c[j], d[j], bound / 17, "seed=" + seed + " q4 dim " + dim + " row " + j);
                float[] x = new float[dim + 2];
                float[] y = new float[dim + 2];
                float scale = (float) random.nextDouble(0, 0.1);
                float bias = (float) random.nextGaussian();
                SCALAR.dequantize8(rows, 3 + j * rowBytes, dim, scale, bias, new byte[dim], x, 1);
                SIMD.dequantize8(rows, 3 + j * rowBytes, dim, scale, bias, new byte[dim], y, 1);
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]),
                            "seed=" + seed + " dequantize dim " + dim + " row " + j + " col " + i);
                }
            }
        }
    }
}
