package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * Time and allocation of opening and closing a read-only store of {@code rows} x 300 f32 with a vocabulary
 * ({@code "w0".."w<rows-1>"}, zeros, so the matrix file is sparse), for 1 000, 1 000 000 and 4 000 000 rows.
 * Target: open (+ close) at most 10 ms and flat across sizes, allocating a size-independent amount.
 *
 * <ul>
 *   <li>{@code storeOpenClose}: {@code EmbeddingStore.open(dir)} then {@code close()}.</li>
 *   <li>{@code storeOpenRowOfClose}: the same plus one {@code rowOf} lookup (the first touch of the index pages).</li>
 *   <li>Baseline, the floor: {@code mapMatrixShared} opens the matrix file with a {@code FileChannel}, maps all of it
 *       into a shared arena (as the store does), reads one byte and closes the arena; {@code mapMatrixConfined} the
 *       same with a confined arena, whose close needs no thread handshake.</li>
 * </ul>
 * Scores are microseconds per open+close (Mode.SampleTime: read the p0.50 line for the median).
 * {@code -prof gc} adds {@code gc.alloc.rate.norm}, the bytes allocated per open+close. The heap a store retains
 * while open is measured by {@link OpenFootprint}.
 *
 * <p>Run:
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar OpenBenchmark \
 *     -f 1 -wi 2 -w 2s -i 3 -r 3s -prof gc
 * </pre>
 * The first run creates the stores under {@code /tmp/embstore-bench} (up to a minute for 4M words); later runs reuse them.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class OpenBenchmark {
    @Param({"1000", "1000000", "4000000"})
    public int rows;

    private Path dir;
    private Path matrix;
    private String lastWord;

    @Setup
    public void setup() {
        dir = BenchStores.vocabularyStore(rows);
        matrix = dir.resolve("matrix.npy");
        lastWord = BenchStores.word(rows - 1);
    }

    @Benchmark
    public long storeOpenClose() {
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            return store.rows();
        }
    }

    @Benchmark
    public long storeOpenRowOfClose() {
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            return store.rowOf(lastWord);
        }
    }

    @Benchmark
    public byte mapMatrixShared() throws IOException {
        try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(matrix, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return seg.get(ValueLayout.JAVA_BYTE, 0);
        }
    }

    @Benchmark
    public byte mapMatrixConfined() throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(matrix, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return seg.get(ValueLayout.JAVA_BYTE, 0);
        }
    }
}
