package io.embstore.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The index as other processes see it: the same answers everywhere, and a rebuild that never disturbs a reader. */
class AnnIndexProcessesTest {
    private static final int ROWS = 2000;
    private static final int K = 10;
    private static final int EF = 40;
    private static final String[] CHILD_JVM = {"-Xmx128m", "-XX:+UseSerialGC", "--add-modules", "jdk.incubator.vector"};

    @TempDir
    Path tmp;

    @Test
    void readersInOtherProcessesGetIdenticalAnswers() throws Exception {
        long seed = Seeds.seed("AnnIndexProcessesTest identical");
        Path dir = tmp.resolve("t");
        ClusteredTable.create(dir, ROWS, Dtype.F32, seed);
        int words = 200;
        List<String> here = new ArrayList<>();
        try (EmbeddingStore store = EmbeddingStore.open(dir);
             AnnIndex index = AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(2), null)) {
            for (int i = 0; i < words; i++) {
                here.add(AnnReaderProcess.line("w" + i, index.mostSimilar("w" + i, K, EF)));
            }
        }
        String[] args = {"answers", dir.toString(), Integer.toString(words), Integer.toString(K), Integer.toString(EF)};
        try (JavaChild a = JavaChild.of(AnnReaderProcess.class, args).name("reader-a").jvm(CHILD_JVM).start();
             JavaChild b = JavaChild.of(AnnReaderProcess.class, args).name("reader-b").jvm(CHILD_JVM).start()) {
            assertEquals(0, a.awaitExit(Duration.ofSeconds(120)), a.describe());
            assertEquals(0, b.awaitExit(Duration.ofSeconds(120)), b.describe());
            assertEquals(here, a.stdoutLines(), "reader a (seed=" + seed + ")");
            assertEquals(here, b.stdoutLines(), "reader b (seed=" + seed + ")");
        }
    }

    @Test
    void rebuildingReplacesTheIndexAtomicallyWhileAReaderQueriesInALoop() throws Exception {
        long seed = Seeds.seed("AnnIndexProcessesTest rebuild");
        Path dir = tmp.resolve("t");
        ClusteredTable.create(dir, ROWS, Dtype.F16, seed);
        Path stop = tmp.resolve("stop");
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1), null).close();
            try (JavaChild reader = JavaChild.of(AnnReaderProcess.class, "loop", dir.toString(), Integer.toString(K),
                    Integer.toString(EF), stop.toString()).name("loop-reader").jvm(CHILD_JVM).start()) {
                reader.awaitLine(l -> l.equals("READY"), Duration.ofSeconds(60));
                int m = 0;
                for (int build = 0; build < 4; build++) {
                    // Different graphs each time (M alternates), so the reader really meets new files.
                    m = build % 2 == 0 ? 8 : 12;
                    AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1).withM(m), null).close();
                    assertTrue(reader.process().isAlive(), reader.describe());
                }
                // Renamed into place, so the reader never reads it half written.
                Files.move(Files.writeString(tmp.resolve("stop.part"), Integer.toString(m)), stop,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                assertEquals(0, reader.awaitExit(Duration.ofSeconds(60)), reader.describe());
                String done = reader.stdoutLines().getLast();
                System.out.println("AnnIndexProcessesTest rebuild: " + done);
                assertTrue(done.startsWith("DONE "), reader.describe());
                long reopened = Long.parseLong(done.replaceAll(".*reopened=(\\d+).*", "$1"));
                assertTrue(reopened > 0, reader.describe());
            }
            try (var files = Files.list(dir)) {
                assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary left");
            }
        }
    }
}
