package io.embstore.index;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.ReadMode;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;

/**
 * The store's rows [0, rows) as jvector sees them while it builds the graph: each row read from the mapping when asked
 * (no copy of the matrix on the heap), as float32 whatever the store's dtype, scaled to unit length so that the dot
 * product is the cosine. One instance owns one row buffer ({@link #isValueShared()}): jvector gives each of its
 * threads a {@link #copy()}.
 */
final class StoreVectors implements RandomAccessVectorValues {
    static final VectorTypeSupport TYPES = VectorizationProvider.getInstance().getVectorTypeSupport();

    private final EmbeddingStore store;
    private final int rows;
    private final int dim;
    /** 1 / norm of each row, 0 for a zero or non-finite row (which then reads as the zero vector). */
    private final float[] inverseNorms;
    private final float[] buffer;
    private final VectorFloat<?> vector;

    StoreVectors(EmbeddingStore store, int rows, float[] inverseNorms) {
        this.store = store;
        this.rows = rows;
        this.dim = store.dim();
        this.inverseNorms = inverseNorms;
        this.buffer = new float[dim];
        // The array-backed vector types wrap the array itself: filling the buffer fills the vector.
        this.vector = TYPES.createFloatVector(buffer);
    }

    /** 1 / |row| of {@code row} as read relaxed into {@code buffer}, or 0 for a zero or non-finite row. */
    static float inverseNorm(EmbeddingStore store, long row, float[] buffer) {
        store.read(row, buffer, 0, ReadMode.RELAXED);
        double sum = 0;
        for (float x : buffer) {
            sum += (double) x * x;
        }
        return sum == 0 || !Double.isFinite(sum) ? 0f : (float) (1 / Math.sqrt(sum));
    }

    @Override
    public int size() {
        return rows;
    }

    @Override
    public int dimension() {
        return dim;
    }

    @Override
    public VectorFloat<?> getVector(int node) {
        // Relaxed: a row written during the build is read with its old or new values (or a mix); its version then
        // differs from the one recorded, so queries score it by brute force instead of trusting its place in the graph.
        store.read(node, buffer, 0, ReadMode.RELAXED);
        float scale = inverseNorms[node];
        if (scale == 0) {
            java.util.Arrays.fill(buffer, 0f);
        } else {
            for (int i = 0; i < dim; i++) {
                buffer[i] *= scale;
            }
        }
        return vector;
    }

    @Override
    public boolean isValueShared() {
        return true;
    }

    @Override
    public RandomAccessVectorValues copy() {
        return new StoreVectors(store, rows, inverseNorms);
    }
}
