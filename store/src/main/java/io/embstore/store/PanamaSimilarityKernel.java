package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernel: a vectorised body over the preferred float species and a scalar tail, reading rows straight
 * from a {@link MemorySegment}. Loaded only by reflection from {@link SimilarityKernel#simd()}, so that a JVM without
 * {@code jdk.incubator.vector} never links against it.
 *
 * <p>Uses {@code fma}: fused on every x86 since Haswell and every AArch64; on older hardware the JIT emulates it slowly.
 */
final class PanamaSimilarityKernel extends SimilarityKernel {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    PanamaSimilarityKernel() {
    }

    @Override
    String name() {
        return "simd";
    }

    @Override
    boolean useful() {
        return LANES >= 4;
    }

    @Override
    void dots(float[][] queries, int from, int count, MemorySegment rows, long at, ByteOrder order, int dim, float[] out) {
        if (count == 1) {
            out[from] = dot(queries[from], rows, at, order, dim);
            return;
        }
        // A group of 2 or 3 repeats its last query: the spare lanes of work cost less than a second loop shape.
        float[] q0 = queries[from];
        float[] q1 = queries[from + 1];
        float[] q2 = queries[from + Math.min(2, count - 1)];
        float[] q3 = queries[from + Math.min(3, count - 1)];
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = FloatVector.zero(SPECIES);
        FloatVector a2 = FloatVector.zero(SPECIES);
        FloatVector a3 = FloatVector.zero(SPECIES);
        int bound = SPECIES.loopBound(dim);
        int i = 0;
        for (; i < bound; i += LANES) {
            // The row element is loaded once for all four queries: that is the point of batching.
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * i, order);
            a0 = FloatVector.fromArray(SPECIES, q0, i).fma(x, a0);
            a1 = FloatVector.fromArray(SPECIES, q1, i).fma(x, a1);
            a2 = FloatVector.fromArray(SPECIES, q2, i).fma(x, a2);
            a3 = FloatVector.fromArray(SPECIES, q3, i).fma(x, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        var f32 = floatLayout(order);
        for (; i < dim; i++) {
            float x = rows.get(f32, at + 4L * i);
            s0 = Math.fma(q0[i], x, s0);
            s1 = Math.fma(q1[i], x, s1);
            s2 = Math.fma(q2[i], x, s2);
            s3 = Math.fma(q3[i], x, s3);
        }
        out[from] = s0;
        out[from + 1] = s1;
        if (count > 2) {
            out[from + 2] = s2;
        }
        if (count > 3) {
            out[from + 3] = s3;
        }
    }

    private static float dot(float[] q, MemorySegment rows, long at, ByteOrder order, int dim) {
        // Two accumulators hide the FMA latency for one query, where there is no other work to interleave.
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = FloatVector.zero(SPECIES);
        int bound2 = dim - dim % (2 * LANES);
        int i = 0;
        for (; i < bound2; i += 2 * LANES) {
            a0 = FloatVector.fromArray(SPECIES, q, i).fma(FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * i, order), a0);
            a1 = FloatVector.fromArray(SPECIES, q, i + LANES)
                    .fma(FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * (i + LANES), order), a1);
        }
        if (i + LANES <= dim) {
            a0 = FloatVector.fromArray(SPECIES, q, i).fma(FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * i, order), a0);
            i += LANES;
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        var f32 = floatLayout(order);
        for (; i < dim; i++) {
            s = Math.fma(q[i], rows.get(f32, at + 4L * i), s);
        }
        return s;
    }

    @Override
    float sumOfSquares(MemorySegment rows, long at, ByteOrder order, int dim) {
        FloatVector a = FloatVector.zero(SPECIES);
        int bound = SPECIES.loopBound(dim);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * i, order);
            a = x.fma(x, a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        var f32 = floatLayout(order);
        for (; i < dim; i++) {
            float x = rows.get(f32, at + 4L * i);
            s = Math.fma(x, x, s);
        }
        return s;
    }

    /**
     * JDK 25's Vector API has no binary16 conversion. A plain array loop over {@code Float.float16ToFloat} is what C2
     * vectorises (into vcvtph2ps on x86), so the halves are copied out in one call and converted there: measured with
     * QueryTimer on 400,000 x 300, 27 ms a query against 33 ms for rebuilding the floats with Vector API shifts.
     */
    @Override
    void decodeHalves(MemorySegment src, long at, int n, short[] scratch, float[] dst) {
        MemorySegment.copy(src, F16_LE, at, scratch, 0, n);
        for (int i = 0; i < n; i++) {
            dst[i] = Float.float16ToFloat(scratch[i]);
        }
    }

    private static final java.lang.foreign.ValueLayout.OfShort F16_LE =
            java.lang.foreign.ValueLayout.JAVA_SHORT.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    @Override
    public String toString() {
        return "simd (" + SPECIES.vectorBitSize() + "-bit FloatVector, " + LANES + " lanes)";
    }
}
