package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.Seeds;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.store.Dtype;
import io.embstore.trainer.SparseTrainer.Algorithm;
import io.embstore.trainer.SparseTrainer.Options;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.roaringbitmap.RoaringBitmap;

/**
 * Properties of the sparse steps (absent rows untouched bit for bit, duplicates equal to pre-summed gradients, the
 * padding row never changing, read-only stores refused, threads not changing a bit) and the three optimizers and
 * their options against a scalar reference written here in double precision. Randomised; seeds printed.
 */
class SparseTrainerTest {
    static final int ROWS = 211;
    static final int DIM = 37; // odd and prime, so no loop is a multiple of a vector width
    static final long PADDING = 5;

    @TempDir
    Path tmp;

    static WritableStore newStore(Path dir, long seed, Dtype dtype) {
        return EmbeddingStore.builder(dir).vocabulary(false).rows(ROWS).dim(DIM).dtype(dtype).paddingIndex(PADDING)
                .init(Init.normal(seed)).create();
    }

    static Options.Builder options(Algorithm a) {
        return switch (a) {
            case ADAM -> Options.adam().learningRate(0.01);
            case ROWWISE_ADAGRAD -> Options.rowwiseAdagrad();
            case SGD -> Options.sgd();
        };
    }

    /** Ids with duplicates (a few hot rows), the padding row sometimes, never rows >= limit. */
    static int[] ids(SplittableRandom r, int n, int limit) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(4) == 0 ? r.nextInt(8) : r.nextInt(limit);
        }
        return ids;
    }

    static float[] grads(SplittableRandom r, int n) {
        float[] g = new float[n * DIM];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) (r.nextGaussian() * 0.5);
        }
        return g;
    }

    /** Raw bytes of every row of the matrix. */
    static byte[] rowBytes(EmbeddingStore s, long row) {
        return s.rowSegment(row).toArray(ValueLayout.JAVA_BYTE);
    }

    static byte[][] snapshot(EmbeddingStore s) {
        byte[][] out = new byte[(int) s.rows()][];
        for (int r = 0; r < out.length; r++) {
            out[r] = rowBytes(s, r);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void absentRowsAndTheirStateAreUntouchedBitForBit(Algorithm algorithm) {
        SplittableRandom r = new SplittableRandom(Seeds.seed("absentRowsUntouched " + algorithm));
        try (WritableStore s = newStore(tmp.resolve("s"), r.nextLong(), Dtype.F32);
             SparseTrainer trainer = SparseTrainer.attach(s, options(algorithm).weightDecay(0.01).maxNorm(3).build())) {
            for (int step = 0; step < 30; step++) {
                int[] ids = ids(r, 1 + r.nextInt(40), ROWS - 20); // the last 20 rows are never in a step
                byte[][] before = snapshot(s);
                long[] stateBefore = stateRowChecksums(trainer);
                trainer.step(ids, grads(r, ids.length));
                byte[][] after = snapshot(s);
                long[] stateAfter = stateRowChecksums(trainer);
                boolean[] present = new boolean[ROWS];
                for (int id : ids) {
                    present[id] = true;
                }
                for (int row = 0; row < ROWS; row++) {
                    if (!present[row] || row == PADDING) {
                        assertArrayEquals(before[row], after[row], "row " + row + " was not in step " + step);
                        assertEquals(stateBefore[row], stateAfter[row], "state of row " + row + " at step " + step);
                    } else if (algorithm != Algorithm.ADAM || step > 0) {
                        assertNotEquals(Arrays.hashCode(before[row]), Arrays.hashCode(after[row]), "row " + row + " changed");
                    }
                }
            }
        }
    }

    /** A CRC of each row's optimizer state (moments or accumulator, and counters). */
    static long[] stateRowChecksums(SparseTrainer trainer) {
        OptimizerState st = stateOf(trainer);
        long[] out = new long[ROWS];
        try (Arena a = Arena.ofConfined()) {
            int floats = st.stateFloats();
            MemorySegment buf = a.allocate(4L * floats + 16, 8);
            for (int row = 0; row < ROWS; row++) {
                st.saveFloats(row, buf, 0);
                buf.set(ValueLayout.JAVA_LONG, 4L * floats + (4L * floats % 8 == 0 ? 0 : 4), 0);
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(buf.asSlice(0, 4L * floats).asByteBuffer());
                crc.update(Long.hashCode(st.updateCount(row)));
                crc.update(Long.hashCode(st.lastStep(row)));
                out[row] = crc.getValue();
            }
        }
        return out;
    }

    static OptimizerState stateOf(SparseTrainer trainer) {
        try {
            var f = SparseTrainer.class.getDeclaredField("state");
            f.setAccessible(true);
            return (OptimizerState) f.get(trainer);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void duplicateIdsEqualPreSummedGradients(Algorithm algorithm) {
        SplittableRandom r = new SplittableRandom(Seeds.seed("duplicates " + algorithm));
        long init = r.nextLong();
        try (EmbeddingStore a = newStore(tmp.resolve("a"), init, Dtype.F32);
             EmbeddingStore b = newStore(tmp.resolve("b"), init, Dtype.F32);
             SparseTrainer ta = SparseTrainer.attach(a, options(algorithm).threads(2).build());
             SparseTrainer tb = SparseTrainer.attach(b, options(algorithm).threads(1).build())) {
            for (int step = 0; step < 20; step++) {
                int[] ids = ids(r, 1 + r.nextInt(60), ROWS);
                float[] g = grads(r, ids.length);
                // pre-sum in order of appearance, the order the trainer sums in
                int[] order = Arrays.stream(ids).distinct().toArray();
                float[] summed = new float[order.length * DIM];
                for (int k = 0; k < order.length; k++) {
                    boolean first = true;
                    for (int i = 0; i < ids.length; i++) {
                        if (ids[i] == order[k]) {
                            for (int d = 0; d < DIM; d++) {
                                summed[k * DIM + d] = first ? g[i * DIM + d] : summed[k * DIM + d] + g[i * DIM + d];
                            }
                            first = false;
                        }
                    }
                }
                ta.step(ids, g);
                tb.step(Arrays.stream(order).asLongStream().toArray(), summed);
            }
            for (int row = 0; row < ROWS; row++) {
                assertArrayEquals(rowBytes(a, row), rowBytes(b, row), "row " + row);
            }
            assertArrayEquals(stateRowChecksums(ta), stateRowChecksums(tb));
        }
    }

    @Test
    void paddingRowNeverChangesAndReadOnlyStoresAndBadIdsAreRefused() {
        SplittableRandom r = new SplittableRandom(Seeds.seed("padding"));
        Path dir = tmp.resolve("p");
        try (WritableStore s = newStore(dir, r.nextLong(), Dtype.F32);
             SparseTrainer trainer = SparseTrainer.attach(s,
                     Options.adam().learningRate(0.1).weightDecay(0.1).maxNorm(0.5).build())) {
            byte[] padding = rowBytes(s, PADDING);
            for (int step = 0; step < 20; step++) {
                int[] ids = new int[10];
                Arrays.fill(ids, (int) PADDING);
                ids[step % 10] = r.nextInt(ROWS);
                trainer.step(ids, grads(r, ids.length));
            }
            assertArrayEquals(padding, rowBytes(s, PADDING));
            assertArrayEquals(new float[DIM], read(s, PADDING));
            assertTrue(!trainer.dirtyRows().contains((int) PADDING));
            byte[][] before = snapshot(s);
            long t = trainer.steps();
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> trainer.step(new long[] {1, 2, ROWS}, new float[3 * DIM]));
            assertTrue(e.getMessage().contains("id " + ROWS + " at position 2"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> trainer.step(new int[] {-1}, new float[DIM]));
            assertThrows(IllegalArgumentException.class, () -> trainer.step(new int[] {1, 2}, new float[DIM]));
            double rate = trainer.learningRate();
            assertThrows(IllegalArgumentException.class, () -> trainer.setLearningRate(-1e-3));
            assertThrows(IllegalArgumentException.class, () -> trainer.setLearningRate(Double.NaN));
            assertEquals(rate, trainer.learningRate());
            assertEquals(t, trainer.steps());
            for (int row = 0; row < ROWS; row++) {
                assertArrayEquals(before[row], rowBytes(s, row));
            }
        }
        try (EmbeddingStore readOnly = EmbeddingStore.open(dir)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SparseTrainer.attach(readOnly, Options.adam().build()));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        }
    }

    static float[] read(EmbeddingStore s, long row) {
        float[] v = new float[s.dim()];
        s.read(row, v);
        return v;
    }

    // ------------------------------------------------------------------------------------------------ references

    /** A straightforward scalar implementation of each rule, in double, with a dense state per row. */
    static final class Reference {
        final Algorithm algorithm;
        /** The rate of the next step: set between steps, as {@link SparseTrainer#setLearningRate}. */
        double lr;
        final double b1 = 0.9;
        final double b2 = 0.999;
        final double eps;
        final boolean perRow;
        final double wd;
        final double maxNorm;
        final double[][] p;
        final double[][] m = new double[ROWS][DIM];
        final double[][] v = new double[ROWS][DIM];
        final double[] acc = new double[ROWS];
        final long[] count = new long[ROWS];
        final long[] last = new long[ROWS];
        long t;

        Reference(Algorithm algorithm, double lr, double eps, boolean perRow, double wd, double maxNorm, EmbeddingStore s) {
            this.algorithm = algorithm;
            this.lr = lr;
            this.eps = eps;
            this.perRow = perRow;
            this.wd = wd;
            this.maxNorm = maxNorm;
            p = new double[ROWS][];
            for (int row = 0; row < ROWS; row++) {
                float[] f = read(s, row);
                p[row] = new double[DIM];
                for (int d = 0; d < DIM; d++) {
                    p[row][d] = f[d];
                }
            }
        }

        void step(int[] ids, float[] grads) {
            t++;
            double[][] g = new double[ROWS][];
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == PADDING) {
                    continue;
                }
                if (g[ids[i]] == null) {
                    g[ids[i]] = new double[DIM];
                }
                for (int d = 0; d < DIM; d++) {
                    g[ids[i]][d] += grads[i * DIM + d];
                }
            }
            for (int row = 0; row < ROWS; row++) {
                if (g[row] == null) {
                    continue;
                }
                double[] x = p[row];
                count[row]++;
                for (int d = 0; d < DIM; d++) {
                    // weight decay every step, absent steps included (what the lazy catch-up must equal)
                    x[d] *= Math.pow(1 - lr * wd, t - last[row]);
                }
                last[row] = t;
                switch (algorithm) {
                    case ADAM -> {
                        long k = perRow ? count[row] : t;
                        for (int d = 0; d < DIM; d++) {
                            m[row][d] = b1 * m[row][d] + (1 - b1) * g[row][d];
                            v[row][d] = b2 * v[row][d] + (1 - b2) * g[row][d] * g[row][d];
                            x[d] -= lr * Math.sqrt(1 - Math.pow(b2, k)) / (1 - Math.pow(b1, k))
                                    * m[row][d] / (Math.sqrt(v[row][d]) + eps);
                        }
                    }
                    case ROWWISE_ADAGRAD -> {
                        double s = 0;
                        for (int d = 0; d < DIM; d++) {
                            s += g[row][d] * g[row][d];
                        }
                        acc[row] += s / DIM;
                        for (int d = 0; d < DIM; d++) {
                            x[d] -= lr * g[row][d] / (Math.sqrt(acc[row]) + eps);
                        }
                    }
                    case SGD -> {
                        for (int d = 0; d < DIM; d++) {
                            x[d] -= lr * g[row][d];
                        }
                    }
                }
                if (maxNorm > 0) {
                    double n = 0;
                    for (double y : x) {
                        n += y * y;
                    }
                    n = Math.sqrt(n);
                    if (n > maxNorm) {
                        for (int d = 0; d < DIM; d++) {
                            x[d] *= maxNorm / (n + 1e-7);
                        }
                    }
                }
            }
        }
    }

    record Case(Algorithm algorithm, boolean perRow, double wd, double maxNorm) {
    }

    static Case[] cases() {
        return new Case[] {
                new Case(Algorithm.ADAM, false, 0, 0), new Case(Algorithm.ADAM, true, 0, 0),
                new Case(Algorithm.ADAM, false, 0.05, 0), new Case(Algorithm.ADAM, true, 0.05, 1.5),
                new Case(Algorithm.ROWWISE_ADAGRAD, false, 0, 0), new Case(Algorithm.ROWWISE_ADAGRAD, false, 0.05, 1.5),
                new Case(Algorithm.SGD, false, 0, 0), new Case(Algorithm.SGD, false, 0.05, 1.5),
        };
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("cases")
    void matchesTheScalarReference(Case c) {
        SplittableRandom r = new SplittableRandom(Seeds.seed("reference " + c));
        double lr = c.algorithm() == Algorithm.ADAM ? 0.01 : 0.05;
        Options o = options(c.algorithm()).learningRate(lr).perRowBiasCorrection(c.perRow()).weightDecay(c.wd())
                .maxNorm(c.maxNorm()).threads(2).build();
        try (WritableStore s = newStore(tmp.resolve("r"), r.nextLong(), Dtype.F32);
             SparseTrainer trainer = SparseTrainer.attach(s, o)) {
            Reference ref = new Reference(c.algorithm(), lr, o.eps(), c.perRow(), c.wd(), c.maxNorm(), s);
            for (int step = 0; step < 40; step++) {
                if (step >= 20) {
                    // the second half follows a linear decay schedule: the rate changes between every step
                    double scheduled = lr * (60 - step) / 40.0;
                    trainer.setLearningRate(scheduled);
                    ref.lr = scheduled;
                    assertEquals(scheduled, trainer.learningRate());
                }
                int[] ids = ids(r, 1 + r.nextInt(50), ROWS);
                float[] g = grads(r, ids.length);
                if (step % 3 == 0) {
                    trainer.step(ids, g);
                } else {
                    // the segment path, with long ids
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment seg = a.allocate(4L * g.length, 4);
                        MemorySegment.copy(g, 0, seg, ValueLayout.JAVA_FLOAT, 0, g.length);
                        trainer.step(Arrays.stream(ids).asLongStream().toArray(), seg);
                    }
                }
                ref.step(ids, g);
            }
            assertEquals(40, trainer.steps());
            double worst = 0;
            for (int row = 0; row < ROWS; row++) {
                float[] got = read(s, row);
                for (int d = 0; d < DIM; d++) {
                    double err = Math.abs(got[d] - ref.p[row][d]) / Math.max(1e-2, Math.abs(ref.p[row][d]));
                    worst = Math.max(worst, err);
                    assertTrue(err < 1e-4, "row " + row + " dim " + d + ": " + got[d] + " vs reference " + ref.p[row][d]);
                }
            }
            OptimizerState st = stateOf(trainer);
            for (int row = 0; row < ROWS; row++) {
                assertEquals(ref.count[row], st.updateCount(row), "update count of row " + row);
                if (c.algorithm() == Algorithm.ADAM) {
                    for (int d = 0; d < DIM; d++) {
                        long at = OptimizerState.rowAt(row, 4L * DIM) + 4L * d;
                        assertEquals(ref.m[row][d], st.m.get(OptimizerState.F32, at), 1e-5 + 1e-5 * Math.abs(ref.m[row][d]));
                        assertEquals(ref.v[row][d], st.v.get(OptimizerState.F32, at), 1e-6 + 1e-5 * Math.abs(ref.v[row][d]));
                    }
                } else if (c.algorithm() == Algorithm.ROWWISE_ADAGRAD) {
                    assertEquals(ref.acc[row], st.acc.get(OptimizerState.F32, OptimizerState.rowAt(row, 4)),
                            1e-5 * Math.abs(ref.acc[row]) + 1e-9);
                }
            }
            System.out.println("reference " + c + ": worst relative error " + worst);
        }
    }

    @Test
    void threadsDoNotChangeABitAndF16StoresTrain() {
        long seed = Seeds.seed("threads");
        for (Dtype dtype : new Dtype[] {Dtype.F32, Dtype.F16}) {
            byte[][][] results = new byte[2][][];
            for (int threads = 1; threads <= 2; threads++) {
                SplittableRandom r = new SplittableRandom(seed);
                try (WritableStore s = newStore(tmp.resolve("t" + threads + dtype), 7, dtype);
                     SparseTrainer trainer = SparseTrainer.attach(s, Options.adam().threads(threads).build())) {
                    for (int step = 0; step < 15; step++) {
                        int[] ids = ids(r, 200, ROWS);
                        trainer.step(ids, grads(r, ids.length));
                    }
                    results[threads - 1] = snapshot(s);
                }
            }
            for (int row = 0; row < ROWS; row++) {
                assertArrayEquals(results[0][row], results[1][row], dtype + " row " + row);
            }
        }
    }

    @Test
    void quantizedStoresAreRefusedWithTheConversionToUseInstead() {
        for (Dtype dtype : new Dtype[] {Dtype.Q8, Dtype.Q4}) {
            Path dir = tmp.resolve("q-" + dtype.label());
            try (WritableStore s = newStore(dir, 7, dtype)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> SparseTrainer.attach(s, Options.adam().build()));
                assertTrue(e.getMessage().contains(dir + " is a " + dtype.label() + " (quantized) store"), e.getMessage());
                assertTrue(e.getMessage().contains("--dtype " + dtype.label()), e.getMessage());
            }
            assertFalse(java.nio.file.Files.exists(dir.resolve("optim.meta")), "nothing of a trainer is left behind");
        }
    }

    @Test
    void stateSurvivesCloseAndTrainingContinuesAsIfUninterrupted() {
        long seed = Seeds.seed("reopen");
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        SplittableRandom ra = new SplittableRandom(seed);
        SplittableRandom rb = new SplittableRandom(seed);
        try (WritableStore s = newStore(a, 3, Dtype.F32); SparseTrainer t = SparseTrainer.attach(s, Options.adam().build())) {
            for (int step = 0; step < 20; step++) {
                int[] ids = ids(ra, 30, ROWS);
                t.step(ids, grads(ra, ids.length));
            }
        }
        newStore(b, 3, Dtype.F32).close();
        for (int part = 0; part < 4; part++) {
            try (WritableStore s = EmbeddingStore.openForWriting(b);
                 SparseTrainer t = SparseTrainer.attach(s, Options.adam().build())) {
                assertEquals(part * 5L, t.steps());
                for (int step = 0; step < 5; step++) {
                    int[] ids = ids(rb, 30, ROWS);
                    t.step(ids, grads(rb, ids.length));
                }
            }
        }
        try (WritableStore sa = EmbeddingStore.openForWriting(a); WritableStore sb = EmbeddingStore.openForWriting(b);
             SparseTrainer ta = SparseTrainer.attach(sa, Options.adam().build());
             SparseTrainer tb = SparseTrainer.attach(sb, Options.adam().build())) {
            assertEquals(ta.stateChecksum(), tb.stateChecksum());
            assertEquals(20, tb.steps());
        }
    }

    @Test
    void rowsAppendedToTheStoreGrowTheStateFiles() {
        SplittableRandom r = new SplittableRandom(Seeds.seed("growth"));
        Path dir = tmp.resolve("g");
        try (WritableStore s = newStore(dir, 4, Dtype.F32); SparseTrainer t = SparseTrainer.attach(s, Options.adam().build())) {
            t.step(new int[] {1, 2}, grads(r, 2));
            float[] v = new float[DIM];
            long first = -1;
            for (int i = 0; i < 150; i++) {
                long row = s.appendRow(v);
                first = first < 0 ? row : first;
            }
            int[] ids = {(int) first, (int) s.rows() - 1, 3};
            t.step(ids, grads(r, ids.length));
            assertEquals(2, stateOf(t).updateCount(s.rows() - 1) + stateOf(t).updateCount(first));
            assertTrue(stateOf(t).capacity >= s.rows());
            t.checkpoint();
        }
        try (WritableStore s = EmbeddingStore.openForWriting(dir);
             SparseTrainer t = SparseTrainer.attach(s, Options.adam().build())) {
            assertEquals(1, stateOf(t).updateCount(s.rows() - 1), "the grown files reopen");
            assertEquals(2, t.steps());
        }
    }

    @Test
    void dirtyRowsAndDirtySince() {
        try (WritableStore s = newStore(tmp.resolve("d"), 1, Dtype.F32);
             SparseTrainer t = SparseTrainer.attach(s, Options.sgd().build())) {
            long g0 = t.checkpoint();
            t.step(new int[] {1, 2, 2, (int) PADDING}, new float[4 * DIM]);
            assertEquals(RoaringBitmap.bitmapOf(1, 2), t.dirtyRows());
            long g1 = t.checkpoint();
            assertTrue(g1 > g0);
            assertTrue(t.dirtyRows().isEmpty());
            t.step(new int[] {2, 7}, new float[2 * DIM]);
            long g2 = t.checkpoint();
            t.step(new int[] {9}, new float[DIM]);
            assertEquals(RoaringBitmap.bitmapOf(1, 2, 7, 9), t.dirtySince(g0));
            assertEquals(RoaringBitmap.bitmapOf(2, 7, 9), t.dirtySince(g1));
            assertEquals(RoaringBitmap.bitmapOf(9), t.dirtySince(g2));
            RoaringBitmap all = new RoaringBitmap();
            all.add(0L, ROWS);
            assertEquals(all, t.dirtySince(-1), "before the history: every row");
        }
        // the history is in the checkpoint record: it survives a reopen
        try (WritableStore s = EmbeddingStore.openForWriting(tmp.resolve("d"));
             SparseTrainer t = SparseTrainer.attach(s, Options.sgd().build())) {
            CheckpointRecord rec = CheckpointRecord.read(s.path());
            assertEquals(RoaringBitmap.bitmapOf(9), t.dirtySince(rec.history.get(rec.history.size() - 2).generation()));
        }
    }
    @Test
    void changedSinceReadsTheCommittedCheckpointsFromAReader() {
        Path dir = tmp.resolve("c");
        RoaringBitmap all = new RoaringBitmap();
        all.add(0L, ROWS);
        try (WritableStore s = newStore(dir, 1, Dtype.F32); EmbeddingStore reader = EmbeddingStore.open(dir)) {
            SparseTrainer.Changes untrained = SparseTrainer.changedSince(reader, reader.generation());
            assertEquals(all, untrained.rows(), "a table never trained: every row");
            try (SparseTrainer t = SparseTrainer.attach(s, Options.sgd().build())) {
                long g0 = t.checkpoint();
                t.step(new int[] {3, 4, 4}, new float[3 * DIM]);
                long g1 = t.checkpoint();
                t.step(new int[] {8}, new float[DIM]); // not checkpointed: not in a reader's answer yet
                reader.refresh();
                SparseTrainer.Changes c = SparseTrainer.changedSince(reader, g0);
                assertEquals(RoaringBitmap.bitmapOf(3, 4), c.rows());
                assertEquals(g1, c.upTo());
                assertTrue(SparseTrainer.changedSince(reader, g1).rows().isEmpty());
                long g2 = t.checkpoint();
                SparseTrainer.Changes next = SparseTrainer.changedSince(reader, c.upTo());
                assertEquals(RoaringBitmap.bitmapOf(8), next.rows(), "asking again from upTo misses nothing");
                assertEquals(g2, next.upTo());
                assertEquals(all, SparseTrainer.changedSince(reader, -1).rows(), "before the history: every row");
            }
        }
    }
}
