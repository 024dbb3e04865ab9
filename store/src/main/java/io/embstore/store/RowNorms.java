package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The precomputed Euclidean norm of every row, {@code norms.f32}, so that a cosine query divides by a stored norm
 * instead of recomputing it for every row it scans.
 *
 * <pre>
 *  0          4          8                      4 * capacity
 *  +----------+----------+-- ... --+------------+
 *  | |row 0|  | |row 1|  |          | |row c-1|  |   float32, little-endian, one per row of capacity
 *  +----------+----------+-- ... --+------------+
 * </pre>
 *
 * The norm is that of the row as stored (after rounding to f16 for an f16 store, dequantized for q8/q4), summed in double and rounded to
 * float32 once. The file is optional and derived: a store created by a {@code Draft} has none, the writer creates it on
 * its first similarity query (or at {@code computeNorms()}), and deleting it loses nothing but time.
 *
 * <p>Which norms are current is told by {@code norms_rows} in the control block: rows {@code [0, norms_rows)} have
 * current norms. Pairs:
 * <ul>
 *   <li>{@code computeNorms()} writes every norm, forces the file, then release-writes {@code norms_rows}; a reader
 *       acquire-reads {@code norms_rows} before it uses any norm;</li>
 *   <li>{@code write(row)} stores the row's new norm inside the row's seqlock write, so the norm changes with the row;</li>
 *   <li>{@code append} stores the new row's norm, then release-writes {@code norms_rows}, then {@code live_rows};</li>
 *   <li>a writer that opens a store whose previous writer did not close (its pid is still in the control block) sets
 *       {@code norms_rows} to 0: after a crash, the norm pages and the row pages may have reached the disk apart.
 *       Readers likewise ignore the norms while the control block names a writer that is no longer running.</li>
 * </ul>
 * A query that finds the norms missing or stale computes each row's norm during its scan instead (the row is in
 * cache by then, so this costs arithmetic, not memory traffic); only the writer writes this file.
 */
final class RowNorms {
    static final String FILE = "norms.f32";
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RowNorms() {
    }

    /** Bytes of the file for {@code capacity} rows. */
    static long fileBytes(long capacity) {
        return capacity * Float.BYTES;
    }

    static float get(MemorySegment norms, long row) {
        return norms.get(F32_LE, row * Float.BYTES);
    }

    static void set(MemorySegment norms, long row, float norm) {
        norms.set(F32_LE, row * Float.BYTES, norm);
    }

    /**
     * The norm that {@link #of(MemorySegment, Dtype, long, int)} gives for the row {@code src[offset,
     * offset + dim)} once stored as {@code dtype}: the same rounding to f16, the same two sums in the same order, so
     * the same bits. A bulk load computes it from the values it is putting, while they are in the cache, instead of
     * reading the whole matrix back afterwards.
     */
    static float of(float[] src, int offset, int dim, Dtype dtype) {
        if (dtype.quantized()) {
            float[] stored = new float[dim];
            QuantizedRows.roundTrip(dtype, src, offset, dim, stored);
            return of(stored, 0, dim, Dtype.F32);
        }
        double s0 = 0;
        double s1 = 0;
        int i = 0;
        if (dtype == Dtype.F32) {
            for (; i + 2 <= dim; i += 2) {
                double x0 = src[offset + i];
                double x1 = src[offset + i + 1];
                s0 += x0 * x0;
                s1 += x1 * x1;
            }
            if (i < dim) {
                double x = src[offset + i];
                s0 += x * x;
            }
        } else {
            for (; i + 2 <= dim; i += 2) {
                double x0 = Float.float16ToFloat(Float.floatToFloat16(src[offset + i]));
                double x1 = Float.float16ToFloat(Float.floatToFloat16(src[offset + i + 1]));
                s0 += x0 * x0;
                s1 += x1 * x1;
            }
            if (i < dim) {
                double x = Float.float16ToFloat(Float.floatToFloat16(src[offset + i]));
                s0 += x * x;
            }
        }
        return (float) Math.sqrt(s0 + s1);
    }

    /** The norm of the stored row of {@code dim} elements of {@code dtype} at byte {@code at} of {@code matrix}. */
    static float of(MemorySegment matrix, Dtype dtype, long at, int dim) {
        if (dtype.quantized()) {
            float[] stored = new float[dim];
            QuantizedRows.dequantize(dtype, matrix, at, dim, new byte[QuantizedRows.codeBytes(dtype, dim)], stored, 0);
            return of(stored, 0, dim, Dtype.F32);
        }
        double s0 = 0;
        double s1 = 0;
        int i = 0;
        if (dtype == Dtype.F32) {
            for (; i + 2 <= dim; i += 2) {
                double x0 = matrix.get(F32_LE, at + 4L * i);
                double x1 = matrix.get(F32_LE, at + 4L * i + 4);
                s0 += x0 * x0;
                s1 += x1 * x1;
            }
            if (i < dim) {
                double x = matrix.get(F32_LE, at + 4L * i);
                s0 += x * x;
            }
        } else {
            for (; i + 2 <= dim; i += 2) {
                double x0 = Float.float16ToFloat(matrix.get(F16_LE, at + 2L * i));
                double x1 = Float.float16ToFloat(matrix.get(F16_LE, at + 2L * i + 2));
                s0 += x0 * x0;
                s1 += x1 * x1;
            }
            if (i < dim) {
                double x = Float.float16ToFloat(matrix.get(F16_LE, at + 2L * i));
                s0 += x * x;
            }
        }
        return (float) Math.sqrt(s0 + s1);
    }
}
