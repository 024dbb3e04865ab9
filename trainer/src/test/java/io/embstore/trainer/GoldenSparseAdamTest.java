package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer.Options;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replays golden/sparse_adam.txt, made by golden/make_golden.py with PyTorch's own torch.optim.SparseAdam on an
 * nn.Embedding(sparse=True, padding_idx=3): the same initial table, the same ids (duplicates and the padding id
 * included) and gradients, step by step; after every step the weights and both moments must match torch's.
 *
 * <p>Two replays. Fed torch's coalesced gradient (unique ids, duplicates summed by torch), the trainer must match within
 * 1e-6 relative (values near zero: 1e-9 absolute): this checks the optimizer's arithmetic. Fed the raw ids with their
 * duplicates, the trainer sums them in order of appearance while torch's coalesce sums them in the order of its
 * (unstable) index sort; the rounding differs by an ulp or so of the summands, which Adam's (g - m) can amplify where
 * terms cancel, so that replay is held to 1e-4 relative: it checks that duplicates are summed, not the last-bit order.
 */
class GoldenSparseAdamTest {
    @TempDir
    Path tmp;

    @Test
    void matchesTorchSparseAdamStepByStep() throws IOException {
        try (InputStream in = getClass().getResourceAsStream("/golden/sparse_adam.txt");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            r.readLine(); // comment
            String[] h = r.readLine().split(" ");
            Map<String, String> p = new HashMap<>();
            for (int i = 0; i + 1 < h.length; i += 2) {
                p.put(h[i], h[i + 1]);
            }
            int rows = Integer.parseInt(p.get("rows"));
            int dim = Integer.parseInt(p.get("dim"));
            int padding = Integer.parseInt(p.get("padding"));
            int steps = Integer.parseInt(p.get("steps"));
            Options o = Options.adam().learningRate(Double.parseDouble(p.get("lr")))
                    .betas(Double.parseDouble(p.get("beta1")), Double.parseDouble(p.get("beta2")))
                    .eps(Double.parseDouble(p.get("eps"))).threads(2).build();
            float[] initial = floats(r.readLine(), "weight");
            EmbeddingStore coalescedStore = newStore(tmp.resolve("coalesced"), rows, dim, padding, initial);
            EmbeddingStore rawStore = newStore(tmp.resolve("raw"), rows, dim, padding, initial);
            try (coalescedStore; rawStore;
                 SparseTrainer coalesced = SparseTrainer.attach(coalescedStore, o);
                 SparseTrainer raw = SparseTrainer.attach(rawStore, o)) {
                double[] worst = new double[2];
                for (int step = 1; step <= steps; step++) {
                    assertEquals("step " + step, r.readLine());
                    long[] ids = longs(r.readLine(), "ids");
                    float[] grads = floats(r.readLine(), "grads");
                    long[] uniqueIds = longs(r.readLine(), "coalesced_ids");
                    float[] summed = floats(r.readLine(), "coalesced_grads");
                    assertEquals(step, coalesced.step(uniqueIds, summed));
                    assertEquals(step, raw.step(ids, grads));
                    float[] weight = floats(r.readLine(), "weight");
                    float[] m = floats(r.readLine(), "exp_avg");
                    float[] v = floats(r.readLine(), "exp_avg_sq");
                    worst[0] = Math.max(worst[0], compare(coalescedStore, coalesced, weight, m, v, step, 1e-6));
                    worst[1] = Math.max(worst[1], compare(rawStore, raw, weight, m, v, step, 1e-4));
                }
                System.out.printf("golden SparseAdam, %d steps: worst relative difference %.3g from torch's coalesced"
                        + " gradients, %.3g summing the duplicates itself%n", steps, worst[0], worst[1]);
            }
        }
    }

    private static WritableStore newStore(Path dir, int rows, int dim, int padding, float[] initial) {
        WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(rows).dim(dim).paddingIndex(padding)
                .init(Init.zeros()).create();
        for (int row = 0; row < rows; row++) {
            if (row != padding) {
                float[] v = new float[dim];
                System.arraycopy(initial, row * dim, v, 0, dim);
                s.write(row, v);
            }
        }
        return s;
    }

    /** Compares the whole table and both moments with torch's; returns the worst relative difference. */
    private static double compare(EmbeddingStore s, SparseTrainer t, float[] weight, float[] m, float[] v, int step,
                                  double tolerance) {
        OptimizerState st = SparseTrainerTest.stateOf(t);
        int dim = s.dim();
        float[] row = new float[dim];
        double worst = 0;
        for (int k = 0; k < s.rows(); k++) {
            s.read(k, row);
            for (int d = 0; d < dim; d++) {
                int i = k * dim + d;
                long at = OptimizerState.rowAt(k, 4L * dim) + 4L * d;
                worst = Math.max(worst, check(weight[i], row[d], "weight", step, k, d, tolerance));
                worst = Math.max(worst, check(m[i], st.m.get(OptimizerState.F32, at), "exp_avg", step, k, d, tolerance));
                worst = Math.max(worst, check(v[i], st.v.get(OptimizerState.F32, at), "exp_avg_sq", step, k, d, tolerance));
            }
        }
        return worst;
    }

    private static double check(float want, float got, String what, int step, int row, int d, double tolerance) {
        double diff = Math.abs((double) want - got);
        double rel = diff / Math.max(Math.abs(want), 1e-30);
        assertTrue(diff <= tolerance * Math.abs(want) || diff <= 1e-9,
                what + " after step " + step + ", row " + row + ", dim " + d + ": torch " + want + ", trainer " + got);
        return diff <= 1e-9 && Math.abs(want) < 1e-3 ? 0 : rel;
    }

    private static long[] longs(String line, String key) {
        assertTrue(line.startsWith(key + " "), "expected '" + key + "'");
        String[] text = line.substring(key.length() + 1).split(" ");
        long[] out = new long[text.length];
        for (int i = 0; i < text.length; i++) {
            out[i] = Long.parseLong(text[i]);
        }
        return out;
    }

    private static float[] floats(String line, String key) {
        assertTrue(line.startsWith(key + " "), "expected '" + key + "', got " + line.substring(0, Math.min(40, line.length())));
        String[] hex = line.substring(key.length() + 1).split(" ");
        float[] out = new float[hex.length];
        for (int i = 0; i < hex.length; i++) {
            out[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(hex[i], 16));
        }
        return out;
    }
}
