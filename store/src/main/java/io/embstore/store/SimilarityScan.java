package io.embstore.store;

import io.embstore.store.io.MappingAdvice;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Brute-force cosine scan of a matrix for a batch of queries in one pass: rows are split into contiguous parts run on
 * the common fork-join pool, each part keeps a bounded heap per query, and the heaps are merged at the end. Every row
 * is read from memory once whatever the number of queries: a block of rows stays in L1 while each query runs over it
 * ({@link SimilarityKernel#rowDots}, several rows per query load).
 *
 * <p>Scores are {@code dot(q, x) / |x|} for a unit query {@code q}, accumulated in float. The padding row, rows of
 * norm zero and rows whose score is not a number are skipped. Rows are read without their seqlock (relaxed): a row
 * written during the scan is ranked with old, new or mixed values; the caller rescores the rows it returns from
 * consistent copies.
 */
final class SimilarityScan {
    /** Rows decoded and scored together: 16 rows of 300 floats (19 KB) stay in L1 beside the queries. */
    static final int BLOCK_ROWS = 16;
    /**
     * f16 rows decoded and scored together. Smaller than {@link #BLOCK_ROWS}: the copy of a block's halves out of the
     * mapping waits on memory, and the decode and the dots that follow do not, so shorter turns keep the reads going.
     * A/B in one JVM, one query over 400,000 x 300: 4 rows took 17.2 ms of CPU, 8 rows 18.3, 16 rows 20.2, 2 rows 21.1
     * (benchmarks/results/similarity.md, section 6).
     */
    static final int F16_BLOCK_ROWS = 4;
    /** Below this many multiply-adds one thread finishes before a second could start. */
    static final long PARALLEL_WORK = 1L << 20;

    /** One candidate: a row and its score. */
    record Hit(long row, float score) {
    }

    private SimilarityScan() {
    }

    /**
     * The best {@code wanted} rows for each query, best first (ties: lower row first).
     *
     * @param matrix      the mapped matrix; row {@code r} starts at byte {@code first + r * dtype.rowBytes(dim)}
     * @param norms       {@code norms.f32} when current for rows [0, rows), else null (norms are computed in the scan)
     * @param unitQueries queries of norm 1, {@code dim} values each
     * @param advice      asks for the matrix's pages ahead of each part once it is seen waiting on the disk
     *                    ({@link ScanAhead#whenSlow}); null: never
     * @param file        the matrix file, named if the advice is refused
     */
    static List<List<Hit>> scan(MemorySegment matrix, long first, Dtype dtype, long rows, int dim,
                                long paddingRow, MemorySegment norms, float[][] unitQueries, int wanted,
                                SimilarityKernel kernel, MappingAdvice advice, Path file) {
        int nq = unitQueries.length;
        long work = rows * dim * Math.max(1, nq);
        int parts = work < PARALLEL_WORK ? 1
                : (int) Math.min(4L * Runtime.getRuntime().availableProcessors(), (rows + BLOCK_ROWS - 1) / BLOCK_ROWS);
        long rowBytes = dtype.rowBytes(dim);
        Part part = (from, to) -> {
            ScanAhead ahead = ScanAhead.whenSlow(advice, matrix, file, first + from * rowBytes, first + to * rowBytes);
            return dtype.quantized()
                    ? QuantizedScan.scanPart(matrix, first, dtype, from, to, dim, paddingRow, norms, unitQueries, wanted, kernel, ahead)
                    : scanPart(matrix, first, dtype, from, to, dim, paddingRow, norms, unitQueries, wanted, kernel, ahead);
        };
        List<TopK[]> results;
        if (parts <= 1) {
            results = List.<TopK[]>of(part.run(0, rows));
        } else {
            results = IntStream.range(0, parts).parallel()
                    .mapToObj(p -> part.run(rows * p / parts, rows * (p + 1) / parts))
                    .toList();
        }
        List<List<Hit>> out = new ArrayList<>(nq);
        for (int q = 0; q < nq; q++) {
            TopK merged = results.size() == 1 ? results.get(0)[q] : new TopK((int) Math.min(wanted, rows));
            if (results.size() > 1) {
                for (TopK[] r : results) {
                    r[q].drainInto(merged);
                }
            }
            out.add(merged.sorted());
        }
        return out;
    }

    @FunctionalInterface
    private interface Part {
        TopK[] run(long from, long to);
    }

    private static TopK[] scanPart(MemorySegment matrix, long first, Dtype dtype, long from, long to,
                                   int dim, long paddingRow, MemorySegment norms, float[][] queries, int wanted,
                                   SimilarityKernel kernel, ScanAhead ahead) {
        int nq = queries.length;
        TopK[] top = new TopK[nq];
        for (int q = 0; q < nq; q++) {
            top[q] = new TopK((int) Math.min(wanted, to - from));
        }
        boolean f16 = dtype == Dtype.F16;
        long rowBytes = (long) dim * dtype.bytes();
        long floatRowBytes = (long) dim * Float.BYTES;
        int block = f16 ? F16_BLOCK_ROWS : BLOCK_ROWS;
        short[] halves = f16 ? new short[block * dim] : null;
        float[] decoded = f16 ? new float[block * dim] : null;
        MemorySegment decodedSegment = f16 ? MemorySegment.ofArray(decoded) : null;
        float[] dots = new float[block];
        float[] inverse = new float[block];
        for (long r0 = from; r0 < to; r0 += block) {
            int n = (int) Math.min(block, to - r0);
            ahead.at(first + r0 * rowBytes);
            MemorySegment src;
            long base;
            ByteOrder order;
            if (f16) {
                // Decoded once per block, the rows then serve every query at float speed.
                kernel.decodeHalves(matrix, first + r0 * rowBytes, n * dim, halves, decoded);
                src = decodedSegment;
                base = 0;
                order = ByteOrder.nativeOrder();
            } else {
                src = matrix;
                base = first + r0 * rowBytes;
                order = ByteOrder.LITTLE_ENDIAN;
            }
            for (int b = 0; b < n; b++) {
                long row = r0 + b;
                float x = norms != null ? RowNorms.get(norms, row)
                        : (float) Math.sqrt(kernel.sumOfSquares(src, base + b * floatRowBytes, order, dim));
                // Zero, infinite or NaN norms give no usable cosine; the padding row is never a neighbour. 0 marks them.
                inverse[b] = row == paddingRow || !(x > 0 && x < Float.POSITIVE_INFINITY) ? 0 : 1 / x;
            }
            for (int q = 0; q < nq; q++) {
                // One query against the block's rows: the row block stays in L1 for the next query.
                kernel.rowDots(queries[q], src, base, order, dim, n, dots);
                TopK t = top[q];
                float threshold = t.threshold();
                for (int b = 0; b < n; b++) {
                    if (inverse[b] != 0) {
                        float score = dots[b] * inverse[b];
                        // Most rows fall below the kept k-th: one comparison, no call.
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

    /**
     * The best {@code capacity} (row, score) pairs offered: a min-heap whose root is the worst kept, so most offers
     * are one comparison. Ties are broken by row so that the result does not depend on how rows were split.
     */
    static final class TopK {
        private final long[] rows;
        private final float[] scores;
        private int size;

        TopK(int capacity) {
            rows = new long[capacity];
            scores = new float[capacity];
        }

        void offer(long row, float score) {
            if (score != score) {
                return;
            }
            if (size < rows.length) {
                int i = size++;
                rows[i] = row;
                scores[i] = score;
                siftUp(i);
            } else if (size > 0 && worse(scores[0], rows[0], score, row)) {
                rows[0] = row;
                scores[0] = score;
                siftDown(0);
            }
        }

        /**
         * The score an offer must reach to be kept: the worst kept score when full (an equal score may still win on
         * its row), negative infinity before.
         */
        float threshold() {
            return size < rows.length || size == 0 ? Float.NEGATIVE_INFINITY : scores[0];
        }

        /** Whether (s1, r1) ranks below (s2, r2). */
        private static boolean worse(float s1, long r1, float s2, long r2) {
            return s1 < s2 || (s1 == s2 && r1 > r2);
        }

        private void siftUp(int i) {
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (!worse(scores[i], rows[i], scores[parent], rows[parent])) {
                    return;
                }
                swap(i, parent);
                i = parent;
            }
        }

        private void siftDown(int i) {
            while (true) {
                int l = 2 * i + 1;
                if (l >= size) {
                    return;
                }
                int worst = l;
                int r = l + 1;
                if (r < size && worse(scores[r], rows[r], scores[l], rows[l])) {
                    worst = r;
                }
                if (!worse(scores[worst], rows[worst], scores[i], rows[i])) {
                    return;
                }
                swap(i, worst);
                i = worst;
            }
        }

        private void swap(int i, int j) {
            long r = rows[i];
            rows[i] = rows[j];
            rows[j] = r;
            float s = scores[i];
            scores[i] = scores[j];
            scores[j] = s;
        }

        void drainInto(TopK other) {
            for (int i = 0; i < size; i++) {
                other.offer(rows[i], scores[i]);
            }
        }

        /** The kept pairs, best first; empties the heap. */
        List<Hit> sorted() {
            Hit[] out = new Hit[size];
            while (size > 0) {
                out[size - 1] = new Hit(rows[0], scores[0]);
                size--;
                if (size > 0) {
                    rows[0] = rows[size];
                    scores[0] = scores[size];
                    siftDown(0);
                }
            }
            return List.of(out);
        }
    }
}
