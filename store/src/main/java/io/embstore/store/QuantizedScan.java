package io.embstore.store;

import io.embstore.store.SimilarityScan.TopK;
import java.lang.foreign.MemorySegment;

/**
 * The part of a {@link SimilarityScan} over q8 or q4 rows: the same blocks, scores and rules (padding row, zero and
 * non-finite norms skipped, relaxed reads rescored by the caller), but a row's dot with a query is computed from its
 * codes, {@code scale * dot(q, codes) + bias * sum(q)}, reading the row's bytes once and never a float copy of it.
 */
final class QuantizedScan {
    private QuantizedScan() {
    }

    /** Scans rows {@code [from, to)} as {@code SimilarityScan.scanPart} does for f32/f16 rows. */
    static TopK[] scanPart(MemorySegment matrix, long first, Dtype dtype, long from, long to, int dim, long paddingRow,
                           MemorySegment norms, float[][] queries, int wanted, SimilarityKernel floatKernel,
                           ScanAhead ahead) {
        QuantizedKernel kernel = QuantizedKernel.matching(floatKernel);
        int nq = queries.length;
        TopK[] top = new TopK[nq];
        float[] sums = new float[nq];
        float[][] even = dtype == Dtype.Q4 ? new float[nq][] : null;
        float[][] odd = dtype == Dtype.Q4 ? new float[nq][] : null;
        int pairs = (dim + 1) / 2;
        for (int q = 0; q < nq; q++) {
            top[q] = new TopK((int) Math.min(wanted, to - from));
            float s = 0;
            for (float x : queries[q]) {
                s += x;
            }
            sums[q] = s;
            if (even != null) {
                even[q] = new float[pairs];
                odd[q] = new float[pairs];
                for (int i = 0; i < dim; i++) {
                    (i % 2 == 0 ? even[q] : odd[q])[i / 2] = queries[q][i];
                }
            }
        }
        long rowBytes = dtype.rowBytes(dim);
        int header = QuantizedRows.headerBytes(dtype);
        int blockRows = SimilarityScan.BLOCK_ROWS;
        float[] scales = new float[blockRows];
        float[] biases = new float[blockRows];
        float[] dots = new float[blockRows];
        float[] inverse = new float[blockRows];
        float[] decoded = norms == null ? new float[dim] : null;
        byte[] codes = norms == null ? new byte[dim] : null;
        for (long r0 = from; r0 < to; r0 += blockRows) {
            int n = (int) Math.min(blockRows, to - r0);
            long base = first + r0 * rowBytes;
            ahead.at(base);
            for (int b = 0; b < n; b++) {
                long row = r0 + b;
                long at = base + b * rowBytes;
                scales[b] = QuantizedRows.scale(dtype, matrix, at);
                biases[b] = QuantizedRows.bias(dtype, matrix, at);
                float x;
                if (norms != null) {
                    x = RowNorms.get(norms, row);
                } else {
                    QuantizedRows.dequantize(dtype, matrix, at, dim, codes, decoded, 0);
                    x = RowNorms.of(decoded, 0, dim, Dtype.F32);
                }
                inverse[b] = row == paddingRow || !(x > 0 && x < Float.POSITIVE_INFINITY) ? 0 : 1 / x;
            }
            for (int q = 0; q < nq; q++) {
                if (even != null) {
                    kernel.q4Dots(even[q], odd[q], matrix, base + header, rowBytes, pairs, n, dots);
                } else {
                    kernel.q8Dots(queries[q], matrix, base + header, rowBytes, dim, n, dots);
                }
                TopK t = top[q];
                float threshold = t.threshold();
                float sum = sums[q];
                for (int b = 0; b < n; b++) {
                    if (inverse[b] != 0) {
                        float score = (scales[b] * dots[b] + biases[b] * sum) * inverse[b];
                        if (score >= threshold) {
                            t.offer(r0 + b, score);
                            threshold = t.threshold();
                        }
                    }
                }
            }
        }
        return top;
    }
}
