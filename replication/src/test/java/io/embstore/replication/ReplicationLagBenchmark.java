package io.embstore.replication;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.io.TempSibling;
import io.embstore.testkit.JavaChild;
import io.embstore.trainer.SparseTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The steady lag of following replicas (benchmarks/replication/run lag): a ROWS x DIM f32 table bootstrapped through a
 * broker in this JVM into two replicas; then a trainer child checkpointing CHANGED distinct rows every INTERVAL seconds
 * (CHECKPOINTS times), a following publisher child, and first one, then two following replica children. For every
 * checkpoint: how long after it each replica reported it durable (the replica's state file written); median and max,
 * against the interval. All processes on this machine: the lag includes the competition for its cores.
 */
public final class ReplicationLagBenchmark {
    private static final Duration WAIT = Duration.ofMinutes(10);

    private ReplicationLagBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        int rows = Integer.parseInt(args[1]);
        int dim = Integer.parseInt(args[2]);
        int changed = Integer.parseInt(args[3]);
        int checkpoints = Integer.parseInt(args[4]);
        long intervalMillis = Long.parseLong(args[5]) * 1000;
        Files.createDirectories(work);
        List<JavaChild> children = new ArrayList<>();
        try (LocalKafka kafka = LocalKafka.start(0, work.resolve("kafka"))) {
            String servers = kafka.bootstrapServers();
            Replication.Kafka topic = new Replication.Kafka(servers, "lag", Map.of());
            Path store = work.resolve("table");
            EmbeddingStore.builder(store).rows(rows).dim(dim).vocabulary(false).create().close();
            // The trainer's state before the first publish: every later publish sends only the rows changed since.
            try (WritableStore w = EmbeddingStore.openForWriting(store);
                 SparseTrainer t = SparseTrainer.attach(w, SparseTrainer.Options.sgd().learningRate(0.01).build())) {
                t.checkpoint();
            }
            long b0 = System.nanoTime();
            Replication.publish(store, topic, 4, false, 0, () -> true, x -> { }, System.err::println);
            Path[] replicas = {work.resolve("replica-1"), work.resolve("replica-2")};
            for (Path r : replicas) {
                Replication.replicate(r, topic, Replication.RowRange.ALL, true, () -> false, x -> { },
                        System.err::println);
            }
            System.out.printf("setup: %d x %d f32 published and applied to two replicas in %.1f s%n", rows, dim,
                    (System.nanoTime() - b0) / 1e9);
            JavaChild publisher = child("publisher", "publish", store.toString(), servers, "lag");
            children.add(publisher);
            publisher.awaitLine(l -> l.startsWith("published"), WAIT);
            JavaChild first = child("replica-1", "replicate", replicas[0].toString(), servers, "lag", "0:");
            children.add(first);
            long seed = 1;
            phase(store, List.of(first), publisher, changed, intervalMillis, checkpoints, seed++);
            JavaChild second = child("replica-2", "replicate", replicas[1].toString(), servers, "lag", "0:");
            children.add(second);
            long caughtUp = lastGeneration(store);
            second.awaitLine(l -> l.startsWith("applied ") && field(l, 1) >= caughtUp, WAIT);
            phase(store, List.of(first, second), publisher, changed, intervalMillis, checkpoints, seed);
        } finally {
            for (JavaChild c : children) {
                c.close();
            }
            TempSibling.deleteTree(work);
        }
    }

    private static JavaChild child(String name, String... args) throws Exception {
        return JavaChild.of(ReplicationChild.class, args).name(name).jvm("-Xmx512m",
                "--enable-native-access=ALL-UNNAMED").start();
    }

    private static long field(String line, int i) {
        return Long.parseLong(line.split(" ")[i]);
    }

    private static long lastGeneration(Path store) {
        try (EmbeddingStore s = EmbeddingStore.open(store)) {
            return SparseTrainer.changedSince(s, Long.MAX_VALUE).upTo();
        }
    }

    /** One trainer run with {@code replicas} following; prints each checkpoint's lags and their median and max. */
    private static void phase(Path store, List<JavaChild> replicas, JavaChild publisher, int changed,
                              long intervalMillis, int checkpoints, long seed) throws Exception {
        JavaChild trainer = child("trainer", "bench-trainer", store.toString(), Integer.toString(changed),
                Long.toString(intervalMillis), Integer.toString(checkpoints), Long.toString(seed));
        TreeMap<Long, long[]> made = new TreeMap<>(); // generation -> {time, train millis}
        for (int c = 0; c < checkpoints; c++) {
            String l = trainer.awaitLine(x -> x.startsWith("checkpoint "), WAIT);
            made.put(field(l, 1), new long[] {field(l, 2), field(l, 3)});
        }
        trainer.awaitLine(x -> x.equals("done"), WAIT);
        trainer.awaitExit(WAIT);
        long last = made.lastKey();
        List<TreeMap<Long, Long>> reported = new ArrayList<>(); // per process: generation -> when it said so
        for (JavaChild r : replicas) {
            reported.add(collect(r, "applied ", last));
        }
        TreeMap<Long, Long> published = collect(publisher, "published ", last);
        System.out.printf("%d following replica(s); trainer: %d checkpoints of %d changed rows, every %.0f s (training"
                        + " + checkpoint took %s s)%n", replicas.size(), checkpoints, changed, intervalMillis / 1e3,
                Arrays.toString(made.values().stream().mapToDouble(v -> v[1] / 1e3).map(x -> Math.round(x * 10) / 10.0)
                        .toArray()));
        double[] pubLags = lags(made, published);
        System.out.printf("  published after the checkpoint: %s s%n", summary(pubLags));
        for (int i = 0; i < replicas.size(); i++) {
            double[] lags = lags(made, reported.get(i));
            System.out.printf("  replica %d durable after the checkpoint: %s s; within one interval: %s%n", i + 1,
                    summary(lags), Arrays.stream(lags).max().orElse(Double.NaN) <= intervalMillis / 1e3 ? "yes" : "no");
        }
    }

    /** What {@code child}'s lines starting with {@code prefix} reported, up to generation {@code last}. */
    private static TreeMap<Long, Long> collect(JavaChild child, String prefix, long last) throws InterruptedException {
        TreeMap<Long, Long> out = new TreeMap<>();
        while (out.isEmpty() || out.lastKey() < last) {
            String l = child.awaitLine(x -> x.startsWith(prefix), WAIT);
            String[] f = l.split(" ");
            out.putIfAbsent(Long.parseLong(f[1]), Long.parseLong(f[f.length - 1]));
        }
        return out;
    }

    /** For each checkpoint, seconds until the first report of it or a later one. */
    private static double[] lags(TreeMap<Long, long[]> made, TreeMap<Long, Long> reported) {
        return made.entrySet().stream().mapToDouble(e -> {
            long when = reported.tailMap(e.getKey(), true).values().stream().mapToLong(Long::longValue).min()
                    .orElseThrow();
            return (when - e.getValue()[0]) / 1e3;
        }).toArray();
    }

    private static String summary(double[] lags) {
        double[] s = lags.clone();
        Arrays.sort(s);
        double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        return String.format("median %.2f, max %.2f (each: %s)", median, s[s.length - 1],
                Arrays.toString(Arrays.stream(lags).map(x -> Math.round(x * 100) / 100.0).toArray()));
    }
}
