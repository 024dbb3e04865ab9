package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** The plain Java kernel: the fallback without {@code jdk.incubator.vector}, and the reference the SIMD one is tested against. */
final class ScalarSimilarityKernel extends SimilarityKernel {
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ScalarSimilarityKernel INSTANCE = new ScalarSimilarityKernel();

    private ScalarSimilarityKernel() {
    }

    @Override
    String name() {
        return "scalar";
    }

    /**
     * The little-endian loop reads through a constant layout: a layout passed in, in a method C2 compiles apart from its
     * caller, sends every read through a generic var handle, several times the CPU a query (figures in
     * benchmarks/results/similarity.md, section 3). Picking the layout per read with {@code little ? F32_LE : F32_BE}
     * instead crashed C2 (JDK 25.0.3, SIGSEGV in final_graph_reshaping_walk).
     * Big-endian data (decoded f16 blocks on a big-endian host) takes the generic loop.
     */
    private static float dot(float[] q, MemorySegment rows, long at, ByteOrder order, int dim) {
        return order == ByteOrder.LITTLE_ENDIAN ? dotLittleEndian(q, rows, at, dim) : dot(q, rows, at, floatLayout(order), dim);
    }

    private static float dotLittleEndian(float[] q, MemorySegment rows, long at, int dim) {
        // Four partial sums: one chain of dependent adds would wait on the FP latency at every element. Plain
        // multiply-add, not Math.fma, which is emulated (slowly) on hardware without FMA.
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 4 <= dim; i += 4) {
            long p = at + 4L * i;
            s0 += q[i] * rows.get(F32_LE, p);
            s1 += q[i + 1] * rows.get(F32_LE, p + 4);
            s2 += q[i + 2] * rows.get(F32_LE, p + 8);
            s3 += q[i + 3] * rows.get(F32_LE, p + 12);
        }
        for (; i < dim; i++) {
            s0 += q[i] * rows.get(F32_LE, at + 4L * i);
        }
        return (s0 + s1) + (s2 + s3);
    }

    private static float dot(float[] q, MemorySegment rows, long at, ValueLayout.OfFloat f32, int dim) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 4 <= dim; i += 4) {
            long p = at + 4L * i;
            s0 += q[i] * rows.get(f32, p);
            s1 += q[i + 1] * rows.get(f32, p + 4);
            s2 += q[i + 2] * rows.get(f32, p + 8);
            s3 += q[i + 3] * rows.get(f32, p + 12);
        }
        for (; i < dim; i++) {
            s0 += q[i] * rows.get(f32, at + 4L * i);
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    void rowDots(float[] query, MemorySegment rows, long at, ByteOrder order, int dim, int n, float[] out) {
        for (int j = 0; j < n; j++) {
            out[j] = dot(query, rows, at + 4L * dim * j, order, dim);
        }
    }

    @Override
    float sumOfSquares(MemorySegment rows, long at, ByteOrder order, int dim) {
        ValueLayout.OfFloat f32 = floatLayout(order);
        float s0 = 0;
        float s1 = 0;
        int i = 0;
        for (; i + 2 <= dim; i += 2) {
            float x0 = rows.get(f32, at + 4L * i);
            float x1 = rows.get(f32, at + 4L * i + 4);
            s0 += x0 * x0;
            s1 += x1 * x1;
        }
        if (i < dim) {
            float x = rows.get(f32, at + 4L * i);
            s0 += x * x;
        }
        return s0 + s1;
    }

    @Override
    void decodeHalves(MemorySegment src, long at, int n, short[] scratch, float[] dst) {
        MemorySegment.copy(src, F16_LE, at, scratch, 0, n);
        for (int i = 0; i < n; i++) {
            dst[i] = Float.float16ToFloat(scratch[i]);
        }
    }

    @Override
    public String toString() {
        return "scalar";
    }
}
