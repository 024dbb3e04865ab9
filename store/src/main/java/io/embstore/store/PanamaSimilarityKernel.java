package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernel: vectorised loops over the preferred float species, reading rows straight from a
 * {@link MemorySegment}. Loaded only by reflection from {@link SimilarityKernel#simd()}, so that a JVM without
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

    /**
     * One row: the rows left over after the groups, and every row when {@code dim < LANES}. The same operations in the
     * same order as one row of {@link #dots4}, so that a row scores the same bits whatever rows it is scored with
     * (the parts and blocks of a scan fall differently with the number of processors); the one FMA chain is slower
     * than two, but serves at most three rows of a block.
     */
    private static float dot(float[] q, MemorySegment rows, long at, ByteOrder order, int dim) {
        if (dim < LANES) {
            var f32 = floatLayout(order);
            float s = 0;
            for (int i = 0; i < dim; i++) {
                s = Math.fma(q[i], rows.get(f32, at + 4L * i), s);
            }
            return s;
        }
        FloatVector a = FloatVector.zero(SPECIES);
        int bound = SPECIES.loopBound(dim);
        for (int i = 0; i < bound; i += LANES) {
            a = FloatVector.fromArray(SPECIES, q, i).fma(FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * i, order), a);
        }
        if (bound < dim) {
            int t = dim - LANES;
            FloatVector x = FloatVector.zero(SPECIES)
                    .blend(FloatVector.fromArray(SPECIES, q, t), VectorMask.fromLong(SPECIES, -1L << (bound - t)));
            a = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at + 4L * t, order), a);
        }
        return a.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Eight rows at a time, then four: each query vector is loaded once for eight rows, and the independent FMA chains
     * hide the FMA latency. One row per call spent more time in its reduction and loop overhead than in loading the
     * row, so a single query did not keep up with memory; eight rows per query load took 9-12% less CPU than four per
     * f32 scan, sixteen made the JIT give up on the method (benchmarks/results/similarity.md, section 6). Each row's
     * sum is formed the same way in every group, so a row's score does not depend on the group it fell in.
     */
    @Override
    void rowDots(float[] query, MemorySegment rows, long at, ByteOrder order, int dim, int n, float[] out) {
        long rowBytes = 4L * dim;
        int j = 0;
        if (dim >= LANES) {
            for (; j + 8 <= n; j += 8) {
                dots8(query, rows, at + j * rowBytes, rowBytes, order, dim, out, j);
            }
            for (; j + 4 <= n; j += 4) {
                dots4(query, rows, at + j * rowBytes, rowBytes, order, dim, out, j);
            }
        }
        for (; j < n; j++) {
            out[j] = dot(query, rows, at + j * rowBytes, order, dim);
        }
    }

    /**
     * The dots of four consecutive rows into {@code out[o..o+3]}; needs {@code dim >= LANES}. The tail (the last
     * {@code dim % LANES} elements) is one more full vector ending at the row's last element, with the query's lanes
     * that the body already counted set to zero: no masked loads (whose code made C1 give up on this method, which
     * then ran interpreted for seconds), and nothing read outside the row. Those zero lanes multiply elements already
     * counted, so a non-finite element can turn an infinite dot into NaN; such a row has a non-finite norm and is
     * never ranked anyway.
     */
    private static void dots4(float[] q, MemorySegment rows, long at, long rowBytes, ByteOrder order, int dim,
                              float[] out, int o) {
        long at1 = at + rowBytes;
        long at2 = at1 + rowBytes;
        long at3 = at2 + rowBytes;
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int bound = SPECIES.loopBound(dim);
        for (int i = 0; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(SPECIES, q, i);
            long p = 4L * i;
            a0 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at + p, order), a0);
            a1 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at1 + p, order), a1);
            a2 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at2 + p, order), a2);
            a3 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at3 + p, order), a3);
        }
        if (bound < dim) {
            int t = dim - LANES;
            FloatVector x = FloatVector.zero(SPECIES)
                    .blend(FloatVector.fromArray(SPECIES, q, t), VectorMask.fromLong(SPECIES, -1L << (bound - t)));
            long p = 4L * t;
            a0 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at + p, order), a0);
            a1 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at1 + p, order), a1);
            a2 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at2 + p, order), a2);
            a3 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at3 + p, order), a3);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 2] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 3] = a3.reduceLanes(VectorOperators.ADD);
    }

    /** As {@link #dots4}, for eight consecutive rows into {@code out[o..o+7]}. */
    private static void dots8(float[] q, MemorySegment rows, long at, long rowBytes, ByteOrder order, int dim,
                              float[] out, int o) {
        long at1 = at + rowBytes;
        long at2 = at1 + rowBytes;
        long at3 = at2 + rowBytes;
        long at4 = at3 + rowBytes;
        long at5 = at4 + rowBytes;
        long at6 = at5 + rowBytes;
        long at7 = at6 + rowBytes;
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        int bound = SPECIES.loopBound(dim);
        for (int i = 0; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(SPECIES, q, i);
            long p = 4L * i;
            a0 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at + p, order), a0);
            a1 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at1 + p, order), a1);
            a2 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at2 + p, order), a2);
            a3 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at3 + p, order), a3);
            a4 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at4 + p, order), a4);
            a5 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at5 + p, order), a5);
            a6 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at6 + p, order), a6);
            a7 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at7 + p, order), a7);
        }
        if (bound < dim) {
            int t = dim - LANES;
            FloatVector x = FloatVector.zero(SPECIES)
                    .blend(FloatVector.fromArray(SPECIES, q, t), VectorMask.fromLong(SPECIES, -1L << (bound - t)));
            long p = 4L * t;
            a0 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at + p, order), a0);
            a1 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at1 + p, order), a1);
            a2 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at2 + p, order), a2);
            a3 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at3 + p, order), a3);
            a4 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at4 + p, order), a4);
            a5 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at5 + p, order), a5);
            a6 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at6 + p, order), a6);
            a7 = x.fma(FloatVector.fromMemorySegment(SPECIES, rows, at7 + p, order), a7);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 2] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 3] = a3.reduceLanes(VectorOperators.ADD);
        out[o + 4] = a4.reduceLanes(VectorOperators.ADD);
        out[o + 5] = a5.reduceLanes(VectorOperators.ADD);
        out[o + 6] = a6.reduceLanes(VectorOperators.ADD);
        out[o + 7] = a7.reduceLanes(VectorOperators.ADD);
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
     * vectorises (into vcvtph2ps on x86), so the halves are copied out in one call and converted there, faster than
     * rebuilding the floats with Vector API shifts (benchmarks/results/similarity.md, section 3).
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
