package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API quantized kernel: loads as many code bytes as there are float lanes, zero-extends them to int lanes
 * and converts to float (vpmovzxbd + vcvtdq2ps on x86), then multiply-adds with the query. Four rows share each query
 * load, as in {@link PanamaSimilarityKernel}. Loaded only by reflection from {@link QuantizedKernel#matching}.
 */
final class PanamaQuantizedKernel extends QuantizedKernel {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = FLOATS.length();
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));

    PanamaQuantizedKernel() {
    }

    private static FloatVector widen(ByteVector codes) {
        return (FloatVector) ((IntVector) codes.convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS, 0))
                .convert(VectorOperators.I2F, 0);
    }

    private static FloatVector codes(MemorySegment rows, long at) {
        return widen(ByteVector.fromMemorySegment(BYTES, rows, at, ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * Four rows at a time share each query load. The tail (the last {@code dim % LANES} codes) is one more full vector
     * ending at the row's last code, with the query lanes the body already counted set to zero, as in
     * {@link PanamaSimilarityKernel}: a scalar tail of up to 15 codes a row cost more than the body's 18 vectors at dim
     * 300. Codes are finite, so the zeroed lanes add exactly nothing.
     */
    @Override
    void q8Dots(float[] q, MemorySegment rows, long codesAt, long rowBytes, int dim, int n, float[] out) {
        int bound = FLOATS.loopBound(dim);
        int j = 0;
        if (dim < LANES) {
            for (; j < n; j++) {
                out[j] = tail8(q, rows, codesAt + j * rowBytes, 0, dim);
            }
            return;
        }
        int t = dim - LANES;
        FloatVector tailQuery = bound == dim ? null : FloatVector.zero(FLOATS)
                .blend(FloatVector.fromArray(FLOATS, q, t), VectorMask.fromLong(FLOATS, -1L << (bound - t)));
        for (; j + 4 <= n; j += 4) {
            long at0 = codesAt + j * rowBytes;
            long at1 = at0 + rowBytes;
            long at2 = at1 + rowBytes;
            long at3 = at2 + rowBytes;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < bound; i += LANES) {
                FloatVector x = FloatVector.fromArray(FLOATS, q, i);
                a0 = x.fma(codes(rows, at0 + i), a0);
                a1 = x.fma(codes(rows, at1 + i), a1);
                a2 = x.fma(codes(rows, at2 + i), a2);
                a3 = x.fma(codes(rows, at3 + i), a3);
            }
            if (tailQuery != null) {
                a0 = tailQuery.fma(codes(rows, at0 + t), a0);
                a1 = tailQuery.fma(codes(rows, at1 + t), a1);
                a2 = tailQuery.fma(codes(rows, at2 + t), a2);
                a3 = tailQuery.fma(codes(rows, at3 + t), a3);
            }
            out[j] = a0.reduceLanes(VectorOperators.ADD);
            out[j + 1] = a1.reduceLanes(VectorOperators.ADD);
            out[j + 2] = a2.reduceLanes(VectorOperators.ADD);
            out[j + 3] = a3.reduceLanes(VectorOperators.ADD);
        }
        for (; j < n; j++) {
            long at = codesAt + j * rowBytes;
            FloatVector a = FloatVector.zero(FLOATS);
            for (int i = 0; i < bound; i += LANES) {
                a = FloatVector.fromArray(FLOATS, q, i).fma(codes(rows, at + i), a);
            }
            if (tailQuery != null) {
                a = tailQuery.fma(codes(rows, at + t), a);
            }
            out[j] = a.reduceLanes(VectorOperators.ADD);
        }
    }

    private static float tail8(float[] q, MemorySegment rows, long at, int from, int dim) {
        float s = 0;
        for (int i = from; i < dim; i++) {
            s += q[i] * (rows.get(ValueLayout.JAVA_BYTE, at + i) & 0xff);
        }
        return s;
    }

    @Override
    void q4Dots(float[] even, float[] odd, MemorySegment rows, long codesAt, long rowBytes, int pairs, int n,
                float[] out) {
        int bound = FLOATS.loopBound(pairs);
        for (int j = 0; j < n; j++) {
            long at = codesAt + j * rowBytes;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            for (int k = 0; k < bound; k += LANES) {
                ByteVector b = ByteVector.fromMemorySegment(BYTES, rows, at + k, ByteOrder.LITTLE_ENDIAN);
                a0 = FloatVector.fromArray(FLOATS, even, k).fma(widen(b.and((byte) 0xf)), a0);
                a1 = FloatVector.fromArray(FLOATS, odd, k)
                        .fma(widen(b.lanewise(VectorOperators.LSHR, 4).and((byte) 0xf)), a1);
            }
            float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
            for (int k = bound; k < pairs; k++) {
                int c = rows.get(ValueLayout.JAVA_BYTE, at + k);
                s += even[k] * (c & 0xf) + odd[k] * ((c >>> 4) & 0xf);
            }
            out[j] = s;
        }
    }

    /**
     * Widened a vector at a time and written with one store: C2 did not vectorise the plain loop over the codes
     * ({@code (b & 0xff)} to float), and q8 gathers then ran at half f32's rows/s (benchmarks/results/quantization.md).
     */
    @Override
    void dequantize8(MemorySegment src, long codesAt, int dim, float scale, float bias, byte[] codes, float[] dst,
                     int offset) {
        if (dim < LANES) {
            for (int i = 0; i < dim; i++) {
                dst[offset + i] = scale * (src.get(ValueLayout.JAVA_BYTE, codesAt + i) & 0xff) + bias;
            }
            return;
        }
        int bound = FLOATS.loopBound(dim);
        for (int i = 0; i < bound; i += LANES) {
            codes(src, codesAt + i).mul(scale).add(bias).intoArray(dst, offset + i);
        }
        if (bound < dim) {
            // The tail as one vector ending at the row's end: it rewrites some values with the same bits.
            int t = dim - LANES;
            codes(src, codesAt + t).mul(scale).add(bias).intoArray(dst, offset + t);
        }
    }

    @Override
    public String toString() {
        return "simd (" + FLOATS.vectorBitSize() + "-bit FloatVector over " + BYTES.vectorBitSize() + "-bit ByteVector)";
    }
}
