package io.embstore.trainer;

import io.embstore.store.WritableStore;
import io.embstore.store.ReadMode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One worker's share of a step: claims chunks of unique rows, sums each row's gradients, updates the row and its
 * state. A row is claimed by exactly one worker per step, so rows need no locks; the scratch arrays are this worker's.
 * Loops run over heap arrays (copied in and out of the mapping in bulk) so that C2 vectorises them.
 */
final class RowKernel {
    private static final ValueLayout.OfFloat F32 = OptimizerState.F32;
    /** Rows a worker claims at a time: small enough to balance hot rows (many duplicates), large enough to be cheap. */
    static final int CHUNK = 32;
    /** Rows loaded together before they are computed (see {@link #load}). */
    static final int BATCH = 8;

    private final WritableStore store;
    private final OptimizerState state;
    private final SparseTrainer.Algorithm algorithm;
    private final int dim;
    private final long stateRowBytes;
    private final double beta1;
    private final double beta2;
    private final float oneMinusBeta1;
    private final float oneMinusBeta2;
    private final float eps;
    private final boolean perRowBiasCorrection;
    private final double weightDecay;
    private final double maxNorm;
    /** The step's learning rate ({@link SparseTrainer.Step#lr}), in float and double, and AdamW's factor per step. */
    private float lr;
    private double lrD;
    private double decayPerStep;
    /*
     * One array per batch slot, every loop indexed by the same i: C2 vectorises a loop only when it can prove that no
     * store feeds a later load, and with two float[] that may be the same array at different offsets it cannot.
     */
    final float[][] p;
    private final float[] g;
    private final float[][] m;
    private final float[][] v;
    private final float[] tmp;
    private final long[] counts = new long[BATCH];
    private final long[] lasts = new long[BATCH];

    RowKernel(WritableStore store, OptimizerState state, SparseTrainer.Options o) {
        this.store = store;
        this.state = state;
        this.algorithm = o.algorithm();
        this.dim = store.dim();
        this.stateRowBytes = 4L * dim;
        this.beta1 = o.beta1();
        this.beta2 = o.beta2();
        // torch multiplies float32 tensors by these Python floats, which its CPU kernels cast to float first.
        this.oneMinusBeta1 = (float) (1 - o.beta1());
        this.oneMinusBeta2 = (float) (1 - o.beta2());
        this.eps = (float) o.eps();
        this.perRowBiasCorrection = o.perRowBiasCorrection();
        this.weightDecay = o.weightDecay();
        this.maxNorm = o.maxNorm();
        this.p = new float[BATCH][dim];
        this.g = new float[dim];
        this.m = new float[BATCH][dim];
        this.v = new float[BATCH][dim];
        this.tmp = new float[dim];
    }

    void run(Step s) {
        try {
            StepCoalescer c = s.rows;
            int unique = s.unique;
            lr = (float) s.lr;
            lrD = s.lr;
            decayPerStep = 1 - s.lr * weightDecay;
            // The step size for the global t, once per step (two pow calls per row cost as much as the update).
            float globalStep = adamStepSize(s.t);
            for (int start = s.next.getAndAdd(CHUNK); start < unique; start = s.next.getAndAdd(CHUNK)) {
                int end = Math.min(unique, start + CHUNK);
                for (int k = start; k < end; k += BATCH) {
                    int n = Math.min(BATCH, end - k);
                    load(c, k, n);
                    for (int j = 0; j < n; j++) {
                        sumGradients(c, k + j, s.gradArray, s.gradSegment);
                        update(c.rows[k + j], j, s.t, globalStep);
                    }
                }
                s.completed.addAndGet(end - start);
            }
        } catch (Throwable e) {
            s.failure = e;
        }
    }

    /**
     * Copies the rows (and their state) of {@code n} unique rows into the batch arrays before any is computed: the
     * copies do not depend on each other, so the processor overlaps their cache misses (random rows of a table far
     * larger than the caches), which one row at a time would pay one after the other.
     *
     * <p>Measured against the alternatives on a 1M x 128 table (CPU time per row, same run; results/optimizer.md):
     * one row at a time costs 1.6x this; touching rows ahead (one load per cache line, {@code AHEAD} rows before
     * their update, the usual software prefetch without a prefetch instruction) 1.5x, because each touch's misses
     * stall retirement like a real load's; computing in place on the mapped segments 1.9x; batches of 16 or 32
     * about the same as 8. What still bounds it is the misses in flight per core and the page walks (three 512 MB
     * files, a TLB miss per row and file): 2 MB pages (madvise MADV_HUGEPAGE on the files) cut the time per row by a
     * fifth, but would make every dirty row write back its whole 2 MB folio at a checkpoint, so they are not used.
     */
    private void load(StepCoalescer c, int k, int n) {
        int d = dim;
        for (int j = 0; j < n; j++) {
            int row = c.rows[k + j];
            // CONSISTENT although the trainer is the store's only writer (it never retries): its read of the row's
            // seqlock word brings that cache line in with the batch's other misses; store.write's read of it in
            // update() would otherwise miss alone, once per row, with nothing to overlap it.
            store.read(row, p[j], 0, ReadMode.CONSISTENT);
            if (algorithm == SparseTrainer.Algorithm.ADAM) {
                long at = OptimizerState.rowAt(row, stateRowBytes);
                MemorySegment.copy(state.m, F32, at, m[j], 0, d);
                MemorySegment.copy(state.v, F32, at, v[j], 0, d);
            }
            counts[j] = state.updateCount(row);
            lasts[j] = state.lastStep(row);
        }
    }

    /** torch's step size, {@code lr * sqrt(1 - b2^t) / (1 - b1^t)} in double, negated and cast to float as torch does. */
    private float adamStepSize(long step) {
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        return (float) -(lrD * Math.sqrt(bc2) / bc1);
    }

    /** g = the sum of the row's gradients, in the order of their positions. */
    private void sumGradients(StepCoalescer c, int k, float[] array, MemorySegment segment) {
        int from = c.starts[k];
        int to = c.starts[k + 1];
        float[] g = this.g;
        int d = dim;
        if (array != null) {
            System.arraycopy(array, c.positions[from] * d, g, 0, d);
            float[] tmp = this.tmp;
            for (int j = from + 1; j < to; j++) {
                System.arraycopy(array, c.positions[j] * d, tmp, 0, d); // same-index loop below: vectorised
                for (int i = 0; i < d; i++) {
                    g[i] += tmp[i];
                }
            }
        } else {
            MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) c.positions[from] * d * 4, g, 0, d);
            for (int j = from + 1; j < to; j++) {
                MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) c.positions[j] * d * 4, tmp, 0, d);
                for (int i = 0; i < d; i++) {
                    g[i] += tmp[i];
                }
            }
        }
    }

    private void update(int row, int j, long t, float globalStep) {
        float[] p = this.p[j];
        float[] g = this.g;
        int d = dim;
        long count = counts[j] + 1;
        long last = lasts[j];
        if (decayPerStep != 1) {
            // AdamW's p *= 1 - lr*wd at every step, for this step and each the row missed since its last update (at
            // today's rate: exact while the rate is constant; see SparseTrainer.setLearningRate).
            float f = (float) Math.pow(decayPerStep, t - last);
            for (int i = 0; i < d; i++) {
                p[i] *= f;
            }
        }
        switch (algorithm) {
            case ADAM -> adam(row, p, m[j], v[j], perRowBiasCorrection ? adamStepSize(count) : globalStep);
            case ROWWISE_ADAGRAD -> adagrad(row, p);
            case SGD -> {
                float lr = this.lr;
                for (int i = 0; i < d; i++) {
                    p[i] -= lr * g[i];
                }
            }
        }
        if (maxNorm > 0) {
            renormalise(p);
        }
        store.write(row, p, 0);
        state.counters(row, count, t);
    }

    /**
     * torch.optim.SparseAdam's arithmetic, operation for operation in float32 (torch/optim/_functional.py,
     * sparse_adam): the moment updates as old + (1-b)(new-old), the numerator and denominator from the updated
     * moments, the bias corrections and step size in double (Python floats), the step size cast to float.
     */
    private void adam(int row, float[] p, float[] m, float[] v, float negStepSize) {
        float[] g = this.g;
        int d = dim;
        float omb1 = oneMinusBeta1;
        float omb2 = oneMinusBeta2;
        float e = eps;
        for (int i = 0; i < d; i++) {
            float gi = g[i];
            float mo = m[i];
            float vo = v[i];
            float mi = mo + (gi - mo) * omb1;
            float vi = vo + (gi * gi - vo) * omb2;
            m[i] = mi;
            v[i] = vi;
            p[i] += negStepSize * (mi / ((float) Math.sqrt(vi) + e));
        }
        long at = OptimizerState.rowAt(row, stateRowBytes);
        MemorySegment.copy(m, 0, state.m, F32, at, d);
        MemorySegment.copy(v, 0, state.v, F32, at, d);
    }

    /** FBGEMM's exact row-wise Adagrad (split_embedding_..._rowwise_adagrad): one accumulator of mean(g^2) per row. */
    private void adagrad(int row, float[] p) {
        float[] g = this.g;
        int d = dim;
        float sumSquares = 0;
        for (int i = 0; i < d; i++) {
            sumSquares += g[i] * g[i];
        }
        long at = OptimizerState.rowAt(row, 4);
        float acc = state.acc.get(F32, at) + sumSquares / d;
        state.acc.set(F32, at, acc);
        float multiplier = lr / ((float) Math.sqrt(acc) + eps);
        for (int i = 0; i < d; i++) {
            p[i] -= multiplier * g[i];
        }
    }

    /** nn.Embedding's max_norm: scale = max_norm / (norm + 1e-7) when norm > max_norm (embedding_renorm_). */
    private void renormalise(float[] p) {
        double sum = 0;
        for (int i = 0; i < dim; i++) {
            sum += (double) p[i] * p[i];
        }
        double norm = Math.sqrt(sum);
        if (norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-7));
            for (int i = 0; i < dim; i++) {
                p[i] *= scale;
            }
        }
    }
}
