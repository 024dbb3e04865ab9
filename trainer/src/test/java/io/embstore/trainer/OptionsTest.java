package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.trainer.SparseTrainer.Algorithm;
import io.embstore.trainer.SparseTrainer.Options;
import org.junit.jupiter.api.Test;

/** The options are a record built from per-algorithm defaults; every option keeps its name and default. */
class OptionsTest {
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    @Test
    void eachAlgorithmStartsFromItsDefaults() {
        assertEquals(new Options(Algorithm.ADAM, 1e-3, 0.9, 0.999, 1e-8, false, 0, 0, CORES, true), Options.adam().build());
        assertEquals(new Options(Algorithm.ROWWISE_ADAGRAD, 0.01, 0.9, 0.999, 1e-8, false, 0, 0, CORES, true),
                Options.rowwiseAdagrad().build());
        assertEquals(new Options(Algorithm.SGD, 0.01, 0.9, 0.999, 0, false, 0, 0, CORES, true), Options.sgd().build());
    }

    @Test
    void everyOptionIsSetByItsName() {
        Options o = Options.adam().learningRate(0.5).betas(0.8, 0.99).eps(1e-6).perRowBiasCorrection(true).weightDecay(0.01)
                .maxNorm(3).threads(2).undoLog(false).build();
        assertEquals(new Options(Algorithm.ADAM, 0.5, 0.8, 0.99, 1e-6, true, 0.01, 3, 2, false), o);
        assertEquals(o, o.toBuilder().build());
        assertEquals(new Options(Algorithm.ADAM, 0.5, 0.8, 0.99, 1e-6, true, 0.01, 3, 1, false), o.toBuilder().threads(1).build());
        assertNotEquals(o, Options.adam().build(), "a builder from the factory does not share state with another");
    }

    @Test
    void outOfRangeValuesAreRefusedNamingEveryValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Options.adam().betas(0.9, 1).build());
        assertTrue(e.getMessage().startsWith("invalid options: lr=0.001, betas=(0.9, 1.0), eps=1.0E-8, weightDecay=0.0,"
                + " maxNorm=0.0, threads=" + CORES), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Options.sgd().learningRate(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> Options.sgd().threads(0).build());
        assertThrows(IllegalArgumentException.class, () -> Options.sgd().weightDecay(-1).build());
        assertThrows(IllegalArgumentException.class, () -> Options.sgd().maxNorm(-1).build());
        assertThrows(IllegalArgumentException.class, () -> Options.sgd().eps(-1).build());
        assertThrows(NullPointerException.class, () -> new Options(null, 0, 0, 0, 0, false, 0, 0, 1, true));
    }
}
