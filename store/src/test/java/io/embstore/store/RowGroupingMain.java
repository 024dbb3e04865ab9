package io.embstore.store;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Run in a child JVM by {@link SimilarityTest#aRowsDotIsTheSameWhateverRowsItIsScoredWith}: scores random rows alone
 * and inside every block (each start and length) with both kernels, and prints {@code KERNEL: same} or the first row
 * whose bits differ.
 */
final class RowGroupingMain {
    private RowGroupingMain() {
    }

    public static void main(String[] args) {
        long seed = Long.parseLong(args[0]);
        for (SimilarityKernel kernel : List.of(SimilarityKernel.scalar(), SimilarityKernel.simd())) {
            String mismatch = firstMismatch(kernel, new SplittableRandom(seed));
            System.out.println(kernel.name() + ": " + (mismatch == null ? "same" : mismatch + " (seed " + seed + ")"));
        }
    }

    private static String firstMismatch(SimilarityKernel kernel, SplittableRandom rnd) {
        // Dims below, at and around 4, 8 and 16 lanes; 13 rows hold a group of eight, one of four and leftovers.
        for (int dim : new int[] {3, 8, 16, 17, 33, 300}) {
            int rows = 13;
            float[] query = new float[dim];
            for (int i = 0; i < dim; i++) {
                query[i] = (float) rnd.nextGaussian();
            }
            MemorySegment seg = Arena.ofAuto().allocate(4L * rows * dim, Float.BYTES);
            for (long i = 0; i < (long) rows * dim; i++) {
                seg.set(SimilarityKernel.F32_LE, 4 * i, (float) rnd.nextGaussian());
            }
            float[] alone = new float[rows];
            float[] one = new float[1];
            for (int r = 0; r < rows; r++) {
                kernel.rowDots(query, seg, 4L * r * dim, ByteOrder.LITTLE_ENDIAN, dim, 1, one);
                alone[r] = one[0];
            }
            float[] out = new float[rows];
            for (int from = 0; from < rows; from++) {
                for (int n = 2; from + n <= rows; n++) {
                    kernel.rowDots(query, seg, 4L * from * dim, ByteOrder.LITTLE_ENDIAN, dim, n, out);
                    for (int j = 0; j < n; j++) {
                        if (Float.floatToRawIntBits(out[j]) != Float.floatToRawIntBits(alone[from + j])) {
                            return "dim " + dim + ": row " + (from + j) + " scored " + out[j] + " in rows [" + from + ", "
                                    + (from + n) + ") but " + alone[from + j] + " alone";
                        }
                    }
                }
            }
        }
        return null;
    }
}
