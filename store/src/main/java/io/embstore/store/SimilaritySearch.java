package io.embstore.store;

import io.embstore.store.StoreMapping.Mapping;
import io.embstore.store.StoreMapping.View;
import io.embstore.store.io.NpyHeader;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;

/**
 * The similarity queries of one store ({@code mostSimilar}, {@code analogy}, {@code similarity}; documented on
 * {@link EmbeddingStore}): query checks, the brute-force {@link SimilarityScan} with norms from {@link RowNorms} when
 * they can be trusted, and exact rescoring of the hits from consistent copies.
 */
final class SimilaritySearch {
    private final EmbeddingStore store;
    private final RowReader reader;
    private final int dim;
    private final Dtype dtype;
    /** The similarity kernel of this store's queries; null for the one selected for the JVM. Set by tests only. */
    private volatile SimilarityKernel kernel;

    SimilaritySearch(EmbeddingStore store, RowReader reader) {
        this.store = store;
        this.reader = reader;
        this.dim = store.dim();
        this.dtype = store.dtype();
    }

    List<Neighbor> mostSimilar(String word, int k) {
        View v = store.view;
        float[] query = new float[dim];
        long row = queryVector(v, word, query);
        return search(new float[][] {query}, k, row < 0 ? new long[0] : new long[] {row},
                new String[] {"word '" + word + "'"}, Long.MAX_VALUE).get(0);
    }

    List<List<Neighbor>> mostSimilar(List<String> words, int k, long candidateRows) {
        if (k < 0) {
            throw new IllegalArgumentException("k must be at least 0: k=" + k);
        }
        View v = store.view;
        // Nothing proportional to k is allocated: no answer holds more rows than the table.
        k = (int) Math.min(k, v.rows());
        int n = words.size();
        long[] rows = new long[n];
        float[][] queries = new float[n][dim];
        String[] names = new String[n];
        for (int i = 0; i < n; i++) {
            rows[i] = queryVector(v, words.get(i), queries[i]);
            names[i] = "word '" + words.get(i) + "'";
        }
        // One more than asked, nothing excluded: each query's own row is dropped from its own list afterwards.
        List<List<Neighbor>> found = search(queries, k == 0 || k == Integer.MAX_VALUE ? k : k + 1, new long[0], names,
                candidateRows);
        List<List<Neighbor>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            List<Neighbor> kept = new ArrayList<>(k);
            for (Neighbor x : found.get(i)) {
                if (x.row() != rows[i] && kept.size() < k) {
                    kept.add(x);
                }
            }
            out.add(List.copyOf(kept));
        }
        return out;
    }

    List<List<Neighbor>> mostSimilar(float[][] queries, int k, Set<String> exclude) {
        View v = store.view;
        store.ensureOpen();
        long[] excluded = new long[exclude.size()];
        int n = 0;
        for (String word : exclude) {
            long row = store.rowOf(v, word);
            if (row >= 0) {
                excluded[n++] = row;
            }
        }
        String[] names = new String[queries.length];
        for (int i = 0; i < queries.length; i++) {
            names[i] = "query " + i;
        }
        return search(queries, k, Arrays.copyOf(excluded, n), names, Long.MAX_VALUE);
    }

    List<Neighbor> analogy(String a, String b, String c, int k, long candidateRows) {
        View v = store.view;
        float[] va = new float[dim];
        float[] vb = new float[dim];
        float[] vc = new float[dim];
        long ra = queryVector(v, a, va);
        long rb = queryVector(v, b, vb);
        long rc = queryVector(v, c, vc);
        double[] ua = unitVector(va, ra, a);
        double[] ub = unitVector(vb, rb, b);
        double[] uc = unitVector(vc, rc, c);
        float[] query = new float[dim];
        for (int i = 0; i < dim; i++) {
            query[i] = (float) (ub[i] + uc[i] - ua[i]);
        }
        return search(new float[][] {query}, k, LongStream.of(ra, rb, rc).filter(r -> r >= 0).toArray(),
                new String[] {"analogy " + a + " : " + b + " :: " + c + " : ?"}, candidateRows).get(0);
    }

    float similarity(String w1, String w2) {
        View v = store.view;
        float[] v1 = new float[dim];
        float[] v2 = new float[dim];
        double[] u1 = unitVector(v1, queryVector(v, w1, v1), w1);
        double[] u2 = unitVector(v2, queryVector(v, w2, v2), w2);
        double dot = 0;
        for (int i = 0; i < dim; i++) {
            dot += u1[i] * u2[i];
        }
        return (float) Math.max(-1, Math.min(1, dot));
    }

    List<List<Neighbor>> search(float[][] queries, int k, long[] excluded, String[] names, long candidateRows) {
        SimilarityKernel kernel = this.kernel != null ? this.kernel : SimilarityKernel.selected();
        return search(queries, k, excluded, names, candidateRows, kernel);
    }

    /** The one similarity path: checks, norms, scan, rescoring. */
    List<List<Neighbor>> search(float[][] queries, int k, long[] excluded, String[] names, long candidateRows,
                                        SimilarityKernel kernel) {
        store.ensureOpen();
        if (k < 0) {
            throw new IllegalArgumentException("k must be at least 0: k=" + k);
        }
        if (candidateRows < 0) {
            throw new IllegalArgumentException("candidateRows must be at least 0: candidateRows=" + candidateRows);
        }
        float[][] unit = new float[queries.length][];
        for (int q = 0; q < queries.length; q++) {
            unit[q] = unitQuery(queries[q], names[q]);
        }
        store.prepareNorms();
        View v = store.view;
        // Rows after these are never candidates: the scan stops here. A fastText model's n-gram buckets follow its
        // words, so its queries answer words.
        long rows = Math.min(v.rows(), Math.min(candidateRows,
                store.subwords().map(s -> s.layout().wordRows()).orElse(Long.MAX_VALUE)));
        Mapping m = v.mapping();
        MemorySegment norms = trustedNorms(v);
        long[] damagedRows = store.damaged.rows();
        if (damagedRows.length != 0) {
            // A damaged row's values are unknown: never a neighbour (its consistent rescoring read would throw).
            excluded = LongStream.concat(Arrays.stream(excluded), Arrays.stream(damagedRows)).toArray();
        }
        int wanted = (int) Math.min(rows, (long) k + excluded.length);
        List<List<SimilarityScan.Hit>> hits = k == 0 ? null : SimilarityScan.scan(m.matrix(), NpyHeader.BYTES, dtype, rows,
                dim, store.paddingIndex(), norms, unit, wanted, kernel, store.advice, store.path().resolve(EmbeddingStore.MATRIX_FILE));
        List<List<Neighbor>> out = new ArrayList<>(queries.length);
        float[] row = new float[dim];
        for (int q = 0; q < queries.length; q++) {
            if (k == 0) {
                out.add(List.of());
                continue;
            }
            List<Neighbor> found = new ArrayList<>();
            for (SimilarityScan.Hit hit : hits.get(q)) {
                if (contains(excluded, hit.row())) {
                    continue;
                }
                reader.copyRow(m, hit.row(), row, null, 0, ReadMode.CONSISTENT);
                double cosine = cosine(queries[q], row);
                if (!Double.isNaN(cosine)) {
                    found.add(new Neighbor(hit.row(), store.manifest.vocabulary() ? store.word(v, hit.row()) : null, (float) cosine));
                }
            }
            found.sort(Comparator.comparingDouble((Neighbor n) -> -n.similarity()).thenComparingLong(Neighbor::row));
            out.add(List.copyOf(found.subList(0, Math.min(k, found.size()))));
        }
        return out;
    }

    /** The norms of {@code v} when they are current for all its rows and their writer did not die; else null. */
    MemorySegment trustedNorms(View v) {
        MemorySegment norms = v.mapping().norms();
        if (norms == null || store.control.normsRows() < v.rows() || !store.writerAliveOrNone()) {
            return null;
        }
        return norms;
    }

    /** The query scaled to norm 1, checked. */
    float[] unitQuery(float[] query, String name) {
        if (query.length != dim) {
            throw new IllegalArgumentException(name + " has " + query.length + " values, the store's dim is " + dim);
        }
        double sum = 0;
        for (int i = 0; i < dim; i++) {
            float x = query[i];
            if (!Float.isFinite(x)) {
                throw new IllegalArgumentException(name + " has a non-finite value at " + i + ": " + x);
            }
            sum += (double) x * x;
        }
        if (sum == 0) {
            throw new IllegalArgumentException(name + " is a zero vector: its cosine similarity is undefined");
        }
        double inverse = 1 / Math.sqrt(sum);
        float[] unit = new float[dim];
        for (int i = 0; i < dim; i++) {
            unit[i] = (float) (query[i] * inverse);
        }
        return unit;
    }

    /** {@code x}, the vector of {@code word} (from row {@code row}, or its n-grams when -1), scaled to norm 1. */
    double[] unitVector(float[] x, long row, String word) {
        double sum = 0;
        for (float f : x) {
            sum += (double) f * f;
        }
        if (sum == 0 || !Double.isFinite(sum)) {
            throw new IllegalArgumentException("word '" + word + "' (" + (row < 0 ? "from its n-grams" : "row " + row) + ") has a "
                    + (sum == 0 ? "zero" : "non-finite") + " vector: its cosine similarity is undefined");
        }
        double inverse = 1 / Math.sqrt(sum);
        double[] unit = new double[dim];
        for (int i = 0; i < dim; i++) {
            unit[i] = x[i] * inverse;
        }
        return unit;
    }

    /** Cosine in double; NaN when the row is zero or not finite. */
    static double cosine(float[] q, float[] x) {
        double dot = 0;
        double qq = 0;
        double xx = 0;
        for (int i = 0; i < q.length; i++) {
            dot += (double) q[i] * x[i];
            qq += (double) q[i] * q[i];
            xx += (double) x[i] * x[i];
        }
        if (xx == 0 || !Double.isFinite(xx)) {
            return Double.NaN;
        }
        return Math.max(-1, Math.min(1, dot / (Math.sqrt(qq) * Math.sqrt(xx))));
    }

    static boolean contains(long[] rows, long row) {
        for (long r : rows) {
            if (r == row) {
                return true;
            }
        }
        return false;
    }

    /**
     * Copies the vector of {@code word} into {@code dst} and returns its row; for a word the store does not have,
     * its vector from n-grams when the store has subwords (returning -1).
     *
     * @throws IllegalArgumentException if the store has neither the word nor subwords
     */
    long queryVector(View v, String word, float[] dst) {
        long row = store.rowOf(v, word);
        if (row >= 0) {
            reader.copyRow(v.mapping(), row, dst, null, 0, ReadMode.CONSISTENT);
            return row;
        }
        Subwords subwords = store.subwords().orElseThrow(
                () -> new IllegalArgumentException("word '" + word + "' is not in the store " + store.path()));
        subwords.vector(word, dst);
        return -1;
    }

    /** Makes this store's queries use {@code kernel} (null: the one selected for the JVM), so tests can run both. */
    void useKernel(SimilarityKernel kernel) {
        this.kernel = kernel;
    }
}
