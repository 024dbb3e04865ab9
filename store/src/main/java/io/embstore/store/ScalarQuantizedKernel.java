package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The plain Java quantized kernel: the fallback without {@code jdk.incubator.vector}, and the SIMD one's reference. */
final class ScalarQuantizedKernel extends QuantizedKernel {
    static final ScalarQuantizedKernel INSTANCE = new ScalarQuantizedKernel();

    private ScalarQuantizedKernel() {
    }

    @Override
    void q8Dots(float[] q, MemorySegment rows, long codesAt, long rowBytes, int dim, int n, float[] out) {
        for (int j = 0; j < n; j++) {
            long at = codesAt + j * rowBytes;
            // Four partial sums, as in ScalarSimilarityKernel: one chain would wait on the add latency.
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            int i = 0;
            for (; i + 4 <= dim; i += 4) {
                s0 += q[i] * (rows.get(ValueLayout.JAVA_BYTE, at + i) & 0xff);
                s1 += q[i + 1] * (rows.get(ValueLayout.JAVA_BYTE, at + i + 1) & 0xff);
                s2 += q[i + 2] * (rows.get(ValueLayout.JAVA_BYTE, at + i + 2) & 0xff);
                s3 += q[i + 3] * (rows.get(ValueLayout.JAVA_BYTE, at + i + 3) & 0xff);
            }
            for (; i < dim; i++) {
                s0 += q[i] * (rows.get(ValueLayout.JAVA_BYTE, at + i) & 0xff);
            }
            out[j] = (s0 + s1) + (s2 + s3);
        }
    }

    @Override
    void q4Dots(float[] even, float[] odd, MemorySegment rows, long codesAt, long rowBytes, int pairs, int n,
                float[] out) {
        for (int j = 0; j < n; j++) {
            long at = codesAt + j * rowBytes;
            float s0 = 0;
            float s1 = 0;
            for (int k = 0; k < pairs; k++) {
                int c = rows.get(ValueLayout.JAVA_BYTE, at + k);
                s0 += even[k] * (c & 0xf);
                s1 += odd[k] * ((c >>> 4) & 0xf);
            }
            out[j] = s0 + s1;
        }
    }

    @Override
    void dequantize8(MemorySegment src, long codesAt, int dim, float scale, float bias, byte[] codes, float[] dst,
                     int offset) {
        // Copied out in one call, then an array loop: a read through the segment per code ran slower still.
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, codesAt, codes, 0, dim);
        for (int i = 0; i < dim; i++) {
            dst[offset + i] = scale * (codes[i] & 0xff) + bias;
        }
    }

    @Override
    public String toString() {
        return "scalar";
    }
}
