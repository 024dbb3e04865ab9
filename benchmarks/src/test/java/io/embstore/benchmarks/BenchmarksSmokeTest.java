package io.embstore.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every JMH benchmark once, on tiny tables and for a tenth of a second, so that they cannot rot: a benchmark
 * that no longer sets up, runs or returns a score fails the build. The real runs are by hand (benchmarks/run-jmh).
 */
class BenchmarksSmokeTest {
    @TempDir
    Path data;

    @Test
    void everyBenchmarkRunsOnceOnTinyTables() throws RunnerException {
        // JMH's /tmp/jmh.lock keeps two measurements from disturbing each other; this run measures nothing, so another
        // checkout's suite running JMH at the same time on this machine must not fail it.
        System.setProperty("jmh.ignoreLock", "true");
        Options options = new OptionsBuilder()
                .include("io\\.embstore\\.benchmarks\\..*")
                .forks(1)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .param("rows", "2000")
                .param("vocab", "1000")
                // Prepend: each benchmark keeps the flags of its own @Fork(jvmArgsAppend).
                .jvmArgsPrepend("-Dembstore.bench.dir=" + data, "-Dembstore.bench.gatherRows=5000")
                .shouldFailOnError(true)
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Set<String> ran = new TreeSet<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            ran.add(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1));
            double score = r.getPrimaryResult().getScore();
            assertTrue(Double.isFinite(score) && score > 0, name + " " + r.getParams() + " scored " + score);
        }
        assertFalse(ran.isEmpty());
        for (String benchmark : Set.of("OpenBenchmark.storeOpenClose", "GatherBenchmark.storeGather_t2",
                "WordLookupBenchmark.storeRowsOf", "SimilarityBenchmark.oneQuery", "OptimizerStepBenchmark.lazyAdamStep",
                "ParseBenchmark.embstoreParseField")) {
            assertTrue(ran.contains(benchmark), benchmark + " ran; ran: " + ran);
        }
        assertEquals(ran.size(), new TreeSet<>(ran).size());
    }
}
