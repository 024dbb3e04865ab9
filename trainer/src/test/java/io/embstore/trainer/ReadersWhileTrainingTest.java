package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import io.embstore.store.WritableStore;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer.Options;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader process gathers rows while this process trains them: it must never see a row half updated. The trainer runs
 * SGD on a zero table with gradients that are constant along each row, so every row stays uniform (all values equal)
 * at every moment a reader can legitimately see it; a non-uniform row is a torn read (with ReadMode.RELAXED in the
 * reader, this test does see torn rows: it can fail). Seeded; the seed is printed.
 */
class ReadersWhileTrainingTest {
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    @Test
    void aReaderProcessNeverSeesATornRow() throws Exception {
        long seed = Seeds.seed("ReadersWhileTrainingTest");
        SplittableRandom r = new SplittableRandom(seed);
        Path dir = tmp.resolve("served");
        int dim = 257;
        int rows = 1000;
        try (WritableStore s = EmbeddingStore.builder(dir).vocabulary(false).rows(rows).dim(dim).init(Init.zeros()).create();
             SparseTrainer t = SparseTrainer.attach(s, Options.sgd().learningRate(0.5).threads(2).build())) {
            try (JavaChild reader = JavaChild.of(UniformRowReader.class, dir.toString(), "2500", Long.toString(r.nextLong()))
                    .start()) {
                assertEquals("ready", reader.awaitLine(CHILD_TIMEOUT), reader.describe());
                long steps = 0;
                while (reader.process().isAlive()) {
                    int n = 256;
                    int[] ids = new int[n];
                    float[] g = new float[n * dim];
                    for (int i = 0; i < n; i++) {
                        ids[i] = r.nextInt(4) == 0 ? r.nextInt(rows) : r.nextInt(8); // hot rows: readers and writer meet
                        Arrays.fill(g, i * dim, (i + 1) * dim, (float) r.nextGaussian());
                    }
                    t.step(ids, g);
                    if (++steps % 50 == 0) {
                        t.checkpoint();
                    }
                }
                assertEquals(0, reader.awaitExit(CHILD_TIMEOUT), reader.describe());
                String result = reader.awaitLine(Duration.ofSeconds(5));
                System.out.println("ReadersWhileTrainingTest: " + steps + " steps; reader: " + result);
                String[] f = result.split(" ");
                assertTrue(Long.parseLong(f[1]) >= UniformRowReader.MIN_READS, "the reader read too little to mean anything: " + result);
                assertEquals("0", f[3], "torn rows: " + result);
            }
        }
    }
}
