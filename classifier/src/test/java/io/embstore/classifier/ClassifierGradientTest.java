package io.embstore.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import org.junit.jupiter.api.Test;

/** The classifier's backward pass against central finite differences of its own forward pass. */
public class ClassifierGradientTest {
    private static final int DIM = 7;
    private static final int LABELS = 3;
    private static final int ROWS = 5;
    private static final float EPS = 1e-2f;

    @Test
    void backwardMatchesFiniteDifferences() {
        long seed = seed();
        System.out.println("ClassifierGradientTest seed " + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        Random random = new Random(seed);
        for (int trial = 0; trial < 20; trial++) {
            float[] rows = randomArray(random, ROWS * DIM);
            float[] weights = randomArray(random, LABELS * DIM);
            float[] bias = randomArray(random, LABELS);
            int n = 1 + random.nextInt(ROWS);
            int target = random.nextInt(LABELS);
            float scale = 0.25f + random.nextFloat();

            float[] h = new float[DIM];
            float[] probs = new float[LABELS];
            float[] dW = new float[LABELS * DIM];
            float[] db = new float[LABELS];
            float[] dRow = new float[DIM];
            TextClassifier.mean(rows, 0, n, DIM, h);
            TextClassifier.softmax(weights, bias, LABELS, DIM, h, probs);
            float loss = TextClassifier.backward(weights, LABELS, DIM, h, probs, n, target, scale, dW, db, dRow);
            double expected = loss(rows, n, weights, bias, target);
            // float32 arithmetic against a double reference: a few float steps, relative to the loss's size
            assertEquals(expected, loss, 1e-6 + 1e-6 * Math.abs(expected), "trial " + trial + ": loss");

            for (int r = 0; r < n; r++) {
                for (int j = 0; j < DIM; j++) {
                    double numeric = scale * numeric(rows, r * DIM + j, () -> loss(rows, n, weights, bias, target));
                    check(numeric, dRow[j], "trial " + trial + ": d/d row " + r + "[" + j + "]");
                }
            }
            for (int i = 0; i < weights.length; i++) {
                double numeric = scale * numeric(weights, i, () -> loss(rows, n, weights, bias, target));
                check(numeric, dW[i], "trial " + trial + ": d/dW[" + i + "]");
            }
            for (int l = 0; l < LABELS; l++) {
                double numeric = scale * numeric(bias, l, () -> loss(rows, n, weights, bias, target));
                check(numeric, db[l], "trial " + trial + ": d/db[" + l + "]");
            }
        }
    }

    @Test
    void gradientsAccumulateIntoTheOutputLayerButRowGradientsAreOverwritten() {
        float[] rows = {1, 2, 3, 4, 5, 6, 7};
        float[] weights = new float[LABELS * DIM];
        float[] bias = new float[LABELS];
        float[] h = new float[DIM];
        float[] probs = new float[LABELS];
        float[] dW = new float[LABELS * DIM];
        float[] db = new float[LABELS];
        float[] dRow = new float[DIM];
        TextClassifier.mean(rows, 0, 1, DIM, h);
        TextClassifier.softmax(weights, bias, LABELS, DIM, h, probs);
        TextClassifier.backward(weights, LABELS, DIM, h, probs, 1, 0, 1f, dW, db, dRow);
        float[] first = db.clone();
        TextClassifier.backward(weights, LABELS, DIM, h, probs, 1, 0, 1f, dW, db, dRow);
        for (int l = 0; l < LABELS; l++) {
            assertEquals(2 * first[l], db[l], 1e-7);
        }
        // All-zero weights: uniform probabilities, the loss is log(3).
        assertEquals(Math.log(3), TextClassifier.backward(weights, LABELS, DIM, h, probs, 1, 0, 1f, dW, db, dRow), 1e-6);
    }

    private static void check(double numeric, float analytic, String what) {
        assertEquals(numeric, analytic, 2e-3 + 2e-2 * Math.abs(numeric), what);
    }

    /** Central difference of {@code f} with respect to {@code a[i]}, restoring it afterwards. */
    private static double numeric(float[] a, int i, java.util.function.DoubleSupplier f) {
        float saved = a[i];
        a[i] = saved + EPS;
        double plus = f.getAsDouble();
        a[i] = saved - EPS;
        double minus = f.getAsDouble();
        a[i] = saved;
        return (plus - minus) / (2 * EPS);
    }

    /** The loss recomputed independently, in double: -log softmax(W mean(rows) + b)[target]. */
    private static double loss(float[] rows, int n, float[] weights, float[] bias, int target) {
        double[] h = new double[DIM];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < DIM; j++) {
                h[j] += rows[r * DIM + j] / (double) n;
            }
        }
        double[] z = new double[LABELS];
        double max = Double.NEGATIVE_INFINITY;
        for (int l = 0; l < LABELS; l++) {
            z[l] = bias[l];
            for (int j = 0; j < DIM; j++) {
                z[l] += weights[l * DIM + j] * h[j];
            }
            max = Math.max(max, z[l]);
        }
        double sum = 0;
        for (int l = 0; l < LABELS; l++) {
            sum += Math.exp(z[l] - max);
        }
        return -(z[target] - max - Math.log(sum));
    }

    private static float[] randomArray(Random random, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    public static long seed() {
        String s = System.getenv("EMBSTORE_SEED");
        return s != null ? Long.parseLong(s) : System.nanoTime();
    }
}
