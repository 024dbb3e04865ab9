package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

    @Override
    void q8Dots(float[] q, MemorySegment rows, long codesAt, long rowBytes, int dim, int n, float[] out) {
        int bound = FLOATS.loopBound(dim);
        int j = 0;
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
            out[j] = a0.reduceLanes(VectorOperators.ADD) + tail8(q, rows, at0, bound, dim);
            out[j + 1] = a1.reduceLanes(VectorOperators.ADD) + tail8(q, rows, at1, bound, dim);
            out[j + 2] = a2.reduceLanes(VectorOperators.ADD) + tail8(q, rows, at2, bound, dim);
            out[j + 3] = a3.reduceLanes(VectorOperators.ADD) + tail8(q, rows, at3, bound, dim);
        }
        for (; j < n; j++) {
            long at = codesAt + j * rowBytes;
            FloatVector a = FloatVector.zero(FLOATS);
            for (int i = 0; i < bound; i += LANES) {
                a = FloatVector.fromArray(FLOATS, q, i).fma(codes(rows, at + i), a);
            }
            out[j] = a.reduceLanes(VectorOperators.ADD) + tail8(q, rows, at, bound, dim);
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

    @Override
    public String toString() {
        return "simd (" + FLOATS.vectorBitSize() + "-bit FloatVector over " + BYTES.vectorBitSize() + "-bit ByteVector)";
    }
}
