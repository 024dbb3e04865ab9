package io.embstore.trainer;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.ReadMode;
import io.embstore.store.Dtype;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.roaringbitmap.RoaringBitmap;

/**
 * Sparse optimizer steps applied in place to a mapped {@link EmbeddingStore}, with the optimizer state in mapped files
 * beside the matrix, crash-safe checkpoints and dirty-row tracking. What {@code torch.optim.SparseAdam} does to an
 * {@code nn.Embedding(sparse=True)}, without the heap, on every core.
 *
 * <pre>{@code
 * try (WritableStore table = EmbeddingStore.openForWriting(dir);
 *      SparseTrainer trainer = SparseTrainer.attach(table, SparseTrainer.Options.adam().learningRate(1e-3).build())) {
 *     for (Batch b : batches) {
 *         trainer.step(b.ids(), b.gradients());      // ids.length x dim gradients, duplicates allowed
 *         if (b.number() % 1000 == 0) trainer.checkpoint();
 *     }
 * }                                                  // close() checkpoints
 * }</pre>
 *
 * <h2>Semantics</h2>
 * A step sums the gradients of duplicate ids, then updates each row present once; rows absent from the step are not
 * touched (bit for bit), and the padding row is never updated (its ids are ignored, as {@code nn.Embedding}'s sparse
 * backward drops them). The step counter {@code t} counts calls to {@code step}, empty ones included.
 * <ul>
 * <li>{@link Algorithm#ADAM}: {@code torch.optim.SparseAdam} (and TF's LazyAdam), in its float32 order of operations:
 *     {@code m += (1-b1)(g-m)}, {@code v += (1-b2)(g*g-v)}, {@code p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)}.
 * <li>{@link Algorithm#ROWWISE_ADAGRAD}: FBGEMM's exact row-wise Adagrad: {@code acc += mean(g*g)} over the row,
 *     {@code p -= lr * g / (sqrt(acc)+eps)}.
 * <li>{@link Algorithm#SGD}: {@code p -= lr * g}.
 * </ul>
 * Options beyond torch, all off by default: {@link Options#perRowBiasCorrection} (Adam's {@code t} counted per row,
 * FBGEMM's row-wise variant), {@link Options#weightDecay} (decoupled, AdamW-style {@code p *= 1 - lr*wd} per step,
 * applied lazily: a row's decay for the steps it missed is caught up exactly, {@code (1-lr*wd)^(t - last)}, when it is
 * next updated), {@link Options#maxNorm} (a row whose norm exceeds it after its update is scaled to
 * {@code maxNorm/(norm+1e-7)}, the formula of {@code nn.Embedding(max_norm=...)}; torch renormalises the rows a
 * forward pass looks up, before they are used, while the trainer renormalises the rows it has just updated, so a row
 * loaded with a larger norm keeps it until its first update).
 * {@link #setLearningRate} changes the rate between steps, as a learning-rate schedule does.
 * {@link #freezeRows} names rows that steps leave alone, as the padding row (pretrained rows kept fixed while the rest
 * trains: Keras's {@code trainable=False} for part of a table).
 *
 * <h2>Durability</h2>
 * Rows changed since the last checkpoint are kept in a RoaringBitmap. Before a row's first change after a checkpoint,
 * its pre-image (weights and state) goes to the undo log, which is forced before the step changes anything (one force
 * per step, for all its newly dirty rows). {@link #checkpoint()} forces just the dirty rows' pages of the matrix and of
 * the state files, then commits a small record atomically. {@link #attach} after a crash rolls the rows in the undo
 * log back, so the table and its optimizer state are exactly those of the last checkpoint. Readers of the store
 * should not trust rows changed after the last checkpoint of a writer that crashed until a trainer has attached. A row
 * a crash left half-written is marked damaged by the store when it is opened for writing; the roll-back rewrites it
 * and so makes it healthy again. A step whose ids include a damaged row the roll-back did not restore (a plain write
 * that died) fails with the store's {@link io.embstore.store.StoreException} naming the row, before anything changes.
 *
 * <h2>Tables larger than memory</h2>
 * The matrix and the state files are mapped and advised for random access (a fault reads its own page). Once steps
 * are seen waiting on the disk (two slow steps, the second with major faults), each step asks for all its unique rows'
 * pages at once ({@code MADV_WILLNEED} on the matrix, {@code rows.seq} and every state file) before reading any, so
 * the reads go to the disk together; it stops asking when the rows turn out to be in memory. A table in memory never
 * pays for it. See README, "Tables larger than memory".
 *
 * <h2>Threads and errors</h2>
 * One thread drives a trainer (its methods are synchronized); a step runs on {@link Options#threads} threads, each
 * unique row updated by exactly one of them. A damaged or mismatched state file fails {@code attach} with an
 * {@link io.embstore.store.StoreException} of kind CORRUPT naming the file; I/O failures are StoreExceptions of kind
 * IO (NO_SPACE for a full disk) naming it.
 * The trainer does not own the store: close the trainer, then the store.
 */
public final class SparseTrainer implements AutoCloseable {

    /** The update rule; fixed for a store's optimizer state (its files are specific to it). */
    public enum Algorithm {
        /** Lazy Adam, {@code torch.optim.SparseAdam}. */
        ADAM("adam"),
        /** FBGEMM's exact row-wise Adagrad: one accumulator per row. */
        ROWWISE_ADAGRAD("rowwise_adagrad"),
        /** Plain stochastic gradient descent. */
        SGD("sgd");

        final String label;

        Algorithm(String label) {
            this.label = label;
        }
    }

    /**
     * Hyperparameters, immutable; built from {@link #adam()}, {@link #rowwiseAdagrad()} or {@link #sgd()}, each a
     * {@link Builder} holding that algorithm's defaults: {@code Options.adam().learningRate(1e-2).threads(4).build()}.
     * Defaults: torch's SparseAdam (lr 1e-3, betas (0.9, 0.999), eps 1e-8); FBGEMM's row-wise Adagrad (lr 0.01, eps
     * 1e-8); SGD lr 0.01; every extra off; all cores; the undo log on.
     *
     * @param algorithm            the update rule
     * @param learningRate         the learning rate of the first step ({@link SparseTrainer#setLearningRate} changes it
     *                             between steps)
     * @param beta1                Adam's first beta
     * @param beta2                Adam's second beta
     * @param eps                  added to the denominator (outside the square root, as torch and FBGEMM do)
     * @param perRowBiasCorrection Adam only: bias correction with the row's own update count instead of the global step
     * @param weightDecay          decoupled weight decay, lazily caught up for the steps a row was absent from; 0 is off
     * @param maxNorm              renormalise an updated row whose Euclidean norm exceeds this; 0 is off
     * @param threads              threads a step runs on (the caller's included)
     * @param undoLog              whether pre-images go to the undo log before rows change (see {@link Builder#undoLog})
     * @throws IllegalArgumentException naming every value when one is out of range
     */
    public record Options(Algorithm algorithm, double learningRate, double beta1, double beta2, double eps,
                          boolean perRowBiasCorrection, double weightDecay, double maxNorm, int threads, boolean undoLog) {
        public Options {
            Objects.requireNonNull(algorithm, "algorithm");
            if (!(learningRate >= 0) || !(eps >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)
                    || !(weightDecay >= 0) || !(maxNorm >= 0) || threads < 1) {
                throw new IllegalArgumentException("invalid options: lr=" + learningRate + ", betas=(" + beta1 + ", " + beta2
                        + "), eps=" + eps + ", weightDecay=" + weightDecay + ", maxNorm=" + maxNorm + ", threads=" + threads
                        + " (need lr, eps, weightDecay, maxNorm >= 0, betas in [0, 1), threads >= 1)");
            }
        }

        /** Lazy Adam with torch's SparseAdam defaults. */
        public static Builder adam() {
            return new Builder(Algorithm.ADAM, 1e-3, 1e-8);
        }

        /** FBGEMM's exact row-wise Adagrad with its defaults (lr 0.01, eps 1e-8). */
        public static Builder rowwiseAdagrad() {
            return new Builder(Algorithm.ROWWISE_ADAGRAD, 0.01, 1e-8);
        }

        /** SGD, lr 0.01. */
        public static Builder sgd() {
            return new Builder(Algorithm.SGD, 0.01, 0);
        }

        /** A builder holding these options, to derive others from them. */
        public Builder toBuilder() {
            Builder b = new Builder(algorithm, learningRate, eps);
            b.beta1 = beta1;
            b.beta2 = beta2;
            b.perRowBiasCorrection = perRowBiasCorrection;
            b.weightDecay = weightDecay;
            b.maxNorm = maxNorm;
            b.threads = threads;
            b.undoLog = undoLog;
            return b;
        }

        /** Collects the options; {@link #build} checks them. Each method is the record component of the same name. */
        public static final class Builder {
            private final Algorithm algorithm;
            private double learningRate;
            private double beta1 = 0.9;
            private double beta2 = 0.999;
            private double eps;
            private boolean perRowBiasCorrection;
            private double weightDecay;
            private double maxNorm;
            private int threads = Runtime.getRuntime().availableProcessors();
            private boolean undoLog = true;

            private Builder(Algorithm algorithm, double learningRate, double eps) {
                this.algorithm = algorithm;
                this.learningRate = learningRate;
                this.eps = eps;
            }

            public Builder learningRate(double v) {
                learningRate = v;
                return this;
            }

            /** Adam's betas. */
            public Builder betas(double b1, double b2) {
                beta1 = b1;
                beta2 = b2;
                return this;
            }

            public Builder eps(double v) {
                eps = v;
                return this;
            }

            public Builder perRowBiasCorrection(boolean v) {
                perRowBiasCorrection = v;
                return this;
            }

            public Builder weightDecay(double v) {
                weightDecay = v;
                return this;
            }

            public Builder maxNorm(double v) {
                maxNorm = v;
                return this;
            }

            /** Default: every core. */
            public Builder threads(int v) {
                threads = v;
                return this;
            }

            /**
             * Default true. Off, a step does no I/O, but a crash between checkpoints leaves the rows changed since the
             * last one in whatever state reached the disk: only for runs that restart from scratch (or a copy) after a
             * crash, and for measuring what the log costs.
             */
            public Builder undoLog(boolean v) {
                undoLog = v;
                return this;
            }

            /** @throws IllegalArgumentException naming every value when one is out of range */
            public Options build() {
                return new Options(algorithm, learningRate, beta1, beta2, eps, perRowBiasCorrection, weightDecay, maxNorm,
                        threads, undoLog);
            }
        }
    }

    private final WritableStore store;
    private final Options options;
    private final Path dir;
    private final int dim;
    private final long padding;
    private final OptimizerState state;
    private final UndoLog undo;
    private final UndoRecords undoRecords;
    private final Durability durability;
    private final StepCoalescer coalescer = new StepCoalescer();
    private final StepAhead ahead;
    private final RowKernel[] kernels;
    /** The threads besides the caller's ({@code threads - 1}); kernel {@code i + 1} is worker {@code i}'s. */
    private final StepWorker[] workers;
    /** Any thread but the caller's: asks whether a gradient segment may be read by the workers. */
    private final Thread poolThread;
    private CheckpointRecord record;
    private RoaringBitmap dirty = new RoaringBitmap();
    private long t;
    /** The rate of the next step: the options' until {@link #setLearningRate} changes it. */
    private double learningRate;
    private boolean closed;
    private int[] newRows = new int[0];
    /** Rows a step leaves alone besides the padding row; empty unless {@link #freezeRows} named some. */
    private RoaringBitmap frozen = new RoaringBitmap();

    private SparseTrainer(WritableStore store, Options options, OptimizerState state, UndoLog undo, CheckpointRecord record,
                          Durability durability) {
        this.store = store;
        this.durability = durability;
        this.options = options;
        this.dir = store.path();
        this.dim = store.dim();
        this.padding = store.paddingIndex();
        this.state = state;
        this.undo = undo;
        this.undoRecords = new UndoRecords(store, state, undo);
        this.ahead = new StepAhead(store, state);
        this.record = record;
        this.t = record.step;
        this.learningRate = options.learningRate();
        this.kernels = new RowKernel[options.threads()];
        for (int i = 0; i < kernels.length; i++) {
            kernels[i] = new RowKernel(store, state, options);
        }
        this.workers = new StepWorker[options.threads() - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new StepWorker(kernels[i + 1], dir);
            workers[i].start();
        }
        this.poolThread = new Thread(() -> { });
    }

    /**
     * Attaches a trainer to a store opened for writing: creates the optimizer state files on first use (zero moments,
     * {@code t = 0}), or opens and checks them, and rolls back whatever a crash left after the last checkpoint.
     *
     * @throws IllegalArgumentException if the store is read-only (a frozen table is never updated)
     * @throws io.embstore.store.StoreException of kind CORRUPT if the state files are damaged or belong to another
     *                                  algorithm or dim; of kind IO or NO_SPACE if they cannot be read or written
     */
    public static SparseTrainer attach(EmbeddingStore store, Options options) {
        return attach(store, options, Durability.SYSTEM);
    }

    /** {@link #attach(EmbeddingStore, Options)} with every force made through {@code durability} (tests record them). */
    static SparseTrainer attach(EmbeddingStore readOrWrite, Options options, Durability durability) {
        Objects.requireNonNull(readOrWrite, "store");
        Objects.requireNonNull(options, "options");
        if (!(readOrWrite instanceof WritableStore store)) {
            throw new IllegalArgumentException(readOrWrite.path() + " is open read-only (frozen): a trainer needs"
                    + " EmbeddingStore.openForWriting");
        }
        if (store.dtype().quantized()) {
            // A quantized row has one scale for all its values: a sparse step's small updates would mostly round away,
            // and the optimizer would chase its own rounding. Quantizing is a conversion of a trained table.
            String q = store.dtype().label();
            throw new IllegalArgumentException(store.path() + " is a " + q + " (quantized) store: the trainer trains f32"
                    + " and f16 tables only; train an f32 or f16 table and quantize it afterwards with"
                    + " 'embstore convert TABLE OUT --dtype " + q + "'");
        }
        if (store.dtype() != Dtype.F32 && store.dtype() != Dtype.F16) {
            throw new IllegalArgumentException("unsupported dtype " + store.dtype());
        }
        Path dir = store.path();
        if (!OptimizerState.exists(dir)) {
            OptimizerState.create(dir, options.algorithm(), store.dim(), Math.max(1, store.rows()), store.publish(),
                    store.rows(), durability);
        }
        OptimizerState state = OptimizerState.open(dir, options.algorithm(), store.dim(), true, durability);
        try {
            state.ensureCapacity(store.rows());
            CheckpointRecord record = CheckpointRecord.read(dir);
            RoaringBitmap restored = new RoaringBitmap();
            UndoLog undo = UndoLog.open(dir.resolve(UndoLog.FILE), store.dim(), state.stateFloats(), durability,
                    UndoRecords.rollBack(store, state, record.epoch, restored));
            SparseTrainer trainer = new SparseTrainer(store, options, state, undo, record, durability);
            if (!restored.isEmpty()) {
                // Roll-back done in the mapping; a checkpoint makes it durable and retires the log (new epoch), and
                // lists the rows in dirtySince: a reader may have seen them changed and changed back.
                trainer.dirty = restored;
                trainer.checkpoint();
            } else if (undo.size() > UndoLog.HEADER_BYTES) {
                undo.reset();
            }
            return trainer;
        } catch (RuntimeException e) {
            state.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------------ steps

    /**
     * One step: row {@code ids[i]} gets gradient {@code grads[i * dim, (i + 1) * dim)}. Returns the step counter.
     *
     * @throws IndexOutOfBoundsException naming the id and its position, before anything changed
     * @throws io.embstore.store.StoreException naming a damaged row among the ids, before anything changed
     */
    public long step(long[] ids, float[] grads) {
        checkGradLength(ids.length, grads.length);
        return stepInternal(null, ids, ids.length, grads, null);
    }

    /** As {@link #step(long[], float[])} with int ids. */
    public long step(int[] ids, float[] grads) {
        checkGradLength(ids.length, grads.length);
        return stepInternal(ids, null, ids.length, grads, null);
    }

    /**
     * As {@link #step(long[], float[])} with the gradients in a segment of native-order float32 (a tensor's, say). A
     * segment of a confined arena can be read by its owner thread only, so its steps run on the calling thread alone.
     */
    public long step(long[] ids, MemorySegment grads) {
        checkGradBytes(ids.length, grads.byteSize());
        return stepInternal(null, ids, ids.length, null, grads);
    }

    /** As {@link #step(long[], MemorySegment)} with int ids. */
    public long step(int[] ids, MemorySegment grads) {
        checkGradBytes(ids.length, grads.byteSize());
        return stepInternal(ids, null, ids.length, null, grads);
    }

    private void checkGradLength(int n, int length) {
        if ((long) n * dim != length) {
            throw new IllegalArgumentException("grads has " + length + " floats; " + n + " ids x dim " + dim + " need "
                    + (long) n * dim);
        }
    }

    private void checkGradBytes(int n, long bytes) {
        if (bytes < (long) n * dim * Float.BYTES) {
            throw new IllegalArgumentException("grads has " + bytes + " bytes; " + n + " ids x dim " + dim + " need "
                    + (long) n * dim * Float.BYTES);
        }
    }

    private synchronized long stepInternal(int[] ints, long[] longs, int n, float[] gradArray, MemorySegment gradSegment) {
        ensureOpen();
        boolean fanOut = workers.length > 0 && (gradSegment == null || gradSegment.isAccessibleBy(poolThread));
        if (fanOut) {
            // Wake parked workers now: they come up while the ids are checked and coalesced, not after.
            for (StepWorker w : workers) {
                w.wake();
            }
        }
        long rows = store.rows();
        for (int i = 0; i < n; i++) {
            long id = ints != null ? ints[i] : longs[i];
            if (id < 0 || id >= rows) {
                throw new IndexOutOfBoundsException("id " + id + " at position " + i + " is outside the " + rows + " rows");
            }
        }
        if (store.damagedRowCount() != 0) {
            // A damaged row's values are unknown (attach restored every row a crashed step left; this one was left by
            // something else): a step would train garbage into it. Refused before anything changes.
            for (int i = 0; i < n; i++) {
                store.requireHealthy(ints != null ? ints[i] : longs[i]);
            }
        }
        state.ensureCapacity(rows);
        coalescer.coalesce(ints, longs, n, padding, frozen.isEmpty() ? null : frozen);
        long start = ahead.before(coalescer); // before the undo log's pre-images read the rows
        if (options.undoLog()) {
            logNewlyDirtyRows();
        }
        t++; // after the log's I/O: a step that failed there changed nothing, not even t
        apply(gradArray, gradSegment, fanOut);
        ahead.after(coalescer.unique, start);
        return t;
    }

    /** Without the undo log, marking the rows dirty can wait until the workers are busy with them. */
    private void markDirty() {
        int[] rows = coalescer.rows;
        int unique = coalescer.unique;
        for (int k = 0; k < unique; k++) {
            dirty.add(rows[k]);
        }
    }

    /** Writes the pre-images of this step's rows not yet dirty, forces the log once, then marks them dirty. */
    private void logNewlyDirtyRows() {
        int count = 0;
        if (newRows.length < coalescer.unique) {
            newRows = new int[coalescer.unique];
        }
        for (int k = 0; k < coalescer.unique; k++) {
            int row = coalescer.rows[k];
            if (!dirty.contains(row)) {
                newRows[count++] = row;
            }
        }
        if (count == 0) {
            return;
        }
        undoRecords.logPreImages(newRows, count, record.epoch, kernels[0].p[0]);
        for (int i = 0; i < count; i++) {
            dirty.add(newRows[i]);
        }
    }

    private void apply(float[] gradArray, MemorySegment gradSegment, boolean fanOut) {
        int unique = coalescer.unique;
        Step s = new Step(coalescer, unique, gradArray, gradSegment, t, learningRate);
        if (fanOut && unique > RowKernel.CHUNK) {
            for (StepWorker w : workers) {
                w.submit(s);
            }
        }
        if (!options.undoLog()) {
            markDirty();
        }
        kernels[0].run(s);
        s.awaitRows();
    }

    // ------------------------------------------------------------------------------------------------ checkpoints

    /**
     * Makes the table and optimizer state durable as they are now: forces the pages of the rows changed since the last
     * checkpoint (matrix and state files, nothing else), publishes a new store generation, and commits the checkpoint
     * record atomically; then empties the undo log. Returns the generation the checkpoint published, for
     * {@link #dirtySince}.
     */
    public synchronized long checkpoint() {
        ensureOpen();
        RoaringBitmap changed = dirty;
        DirtyPages.force(changed, store, state, durability);
        long generation = store.publish();
        CheckpointRecord next = record.next(t, generation, store.rows(), changed);
        next.writeAtomically(dir, durability);
        record = next;
        undo.reset();
        dirty = new RoaringBitmap();
        return generation;
    }

    // ------------------------------------------------------------------------------------------------ dirty rows

    /** The rows changed since the last checkpoint (a copy). */
    public synchronized RoaringBitmap dirtyRows() {
        ensureOpen();
        return dirty.clone();
    }

    /**
     * The rows changed after the checkpoint that published {@code generation} (a value {@link #checkpoint()}
     * returned), up to now, uncommitted changes included: what an exporter ships as a delta. For a generation older
     * than the retained history (the last 64 checkpoints) or from before the trainer's state existed, every row.
     * For a generation between checkpoints, a superset (the rows of the checkpoint that followed it).
     */
    public synchronized RoaringBitmap dirtySince(long generation) {
        ensureOpen();
        RoaringBitmap out = record.changedAfter(generation);
        if (out == null) {
            out = new RoaringBitmap();
            out.add(0L, store.rows());
        }
        out.or(dirty);
        return out;
    }

    /**
     * The rows a trainer's checkpoints changed after {@code generation}, read from the store's checkpoint record without
     * attaching (a reader's view: no writer lock, nothing written), and the generation they are complete up to: what a
     * process that shipped the table at {@code generation} ships next. A running trainer's changes after its last
     * checkpoint are not included; they come with the next checkpoint, whose generation is above
     * {@link Changes#upTo}, so asking again from {@code upTo} misses nothing. A table never trained, or a generation
     * older than the retained history, gives every row.
     *
     * @throws io.embstore.store.StoreException of kind CORRUPT if the checkpoint record is damaged, IO if it cannot be
     *                                          read
     */
    public static Changes changedSince(EmbeddingStore store, long generation) {
        Objects.requireNonNull(store, "store");
        RoaringBitmap all = new RoaringBitmap();
        all.add(0L, store.rows());
        if (!OptimizerState.exists(store.path())) {
            return new Changes(all, store.generation());
        }
        CheckpointRecord r = CheckpointRecord.read(store.path());
        RoaringBitmap changed = r.changedAfter(generation);
        return new Changes(changed == null ? all : changed, r.generation);
    }

    /**
     * Rows changed after a generation, as of the checkpoint that published {@code upTo}.
     *
     * @param rows the changed rows (a bitmap of row numbers)
     * @param upTo the generation the answer is complete up to: ask from here next time
     */
    public record Changes(RoaringBitmap rows, long upTo) {
    }

    /** The learning rate the next step uses. */
    public synchronized double learningRate() {
        return learningRate;
    }

    /**
     * Sets the learning rate of the steps that follow, as a scheduler sets torch's {@code param_groups[0]["lr"]}
     * (warm-up, linear or cosine decay); the moments and the step counter are untouched. With lazy weight decay, the
     * catch-up for the steps a row skipped uses the rate of the step that next touches it: exact only while the rate
     * is constant.
     *
     * @throws IllegalArgumentException if {@code lr} is negative or not a number
     */
    public synchronized void setLearningRate(double lr) {
        ensureOpen();
        if (!(lr >= 0) || lr == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("invalid learning rate " + lr + " (need a finite lr >= 0)");
        }
        learningRate = lr;
    }

    /**
     * Freezes {@code rows} (replacing any rows frozen before): the steps that follow leave them as the padding row is
     * left, their gradients ignored, weights and optimizer state unchanged bit for bit and never marked dirty. For a
     * table that starts from pretrained rows of which some must stay as they are while the rest trains. The set lives
     * with this trainer only: it is not part of the optimizer state, and a trainer attached later starts with none.
     *
     * @throws IllegalArgumentException if a row is outside the table
     */
    public synchronized void freezeRows(RoaringBitmap rows) {
        ensureOpen();
        Objects.requireNonNull(rows, "rows");
        if (!rows.isEmpty() && Integer.toUnsignedLong(rows.last()) >= store.rows()) {
            throw new IllegalArgumentException("frozen row " + Integer.toUnsignedLong(rows.last()) + " is outside the "
                    + store.rows() + " rows");
        }
        frozen = rows.clone();
    }

    /** The step counter {@code t}: steps applied since the optimizer state was created. */
    public synchronized long steps() {
        return t;
    }

    /** Tests: whether steps ask for their rows ahead ({@link StepAhead}); {@code AUTO} unless set. */
    synchronized void askAhead(StepAhead.Mode mode) {
        ahead.mode(mode);
    }

    /** Tests: the steps that asked for their rows ahead. */
    synchronized long stepsAskedAhead() {
        return ahead.stepsAsked();
    }

    /** Checksum of the weights of every row, the optimizer state files and {@code t}; for tests comparing states. */
    synchronized long stateChecksum() {
        CRC32C crc = new CRC32C();
        long rows = store.rows();
        float[] row = new float[dim];
        ByteBuffer bytes = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long r = 0; r < rows; r++) {
            store.read(r, row, 0, ReadMode.RELAXED);
            bytes.clear();
            bytes.asFloatBuffer().put(row);
            crc.update(bytes.array());
        }
        state.checksum(crc, rows);
        return crc.getValue() ^ (t * 0x9E3779B97F4A7C15L);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(dir + ": the trainer is closed");
        }
    }

    /** Checkpoints (so nothing trained is lost), stops the threads and unmaps the state. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            checkpoint();
        } finally {
            closed = true;
            for (StepWorker w : workers) {
                w.shutdown();
            }
            undo.close();
            state.close();
        }
    }

    @Override
    public String toString() {
        return "SparseTrainer[" + dir + ", " + options.algorithm().label + ", t=" + t + "]";
    }
}
