package io.embstore.benchmarks.ann;

import io.embstore.index.AnnIndex;
import io.embstore.index.AnnIndexOptions;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The embstore side of benchmarks/ann/run, one step per process, each printing one JSON object (and writing it to
 * {@code OUT/embstore-STEP.json}). OUT holds {@code queries.txt} and {@code truth.txt} from {@code ann_faiss.py truth}.
 *
 * <pre>
 * java ... AnnBench build  STORE OUT [--m 16] [--beam 100] [--threads N]   AnnIndex.build, timed
 * java ... AnnBench search STORE OUT [--ef 16,32,64,128,256]              AnnIndex.mostSimilar, one query at a time,
 *                                                                         this thread only, for each ef
 * java ... AnnBench exact  STORE OUT [--queries 30] [--label L]           the store's exact mostSimilar
 * </pre>
 * Queries are the store's own words ({@code mostSimilar(word, k)} leaves the word out), so they are the rows the
 * exact answers were computed for. Recall@k is the share of the exact top k found. Latencies are per query,
 * {@code System.nanoTime} around the call; queries/s is the count over the sum of the latencies; the same again from
 * the thread's CPU time. The build reports its wall time and the process' CPU time.
 */
public final class AnnBench {
    /** Per-query CPU time of this thread: on a shared machine, what a query cost whatever else runs. */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private AnnBench() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: AnnBench build|search|exact STORE OUT [options]");
            System.exit(2);
        }
        String step = args[0];
        Path storeDir = Path.of(args[1]);
        Path out = Path.of(args[2]);
        Options o = new Options(Arrays.copyOfRange(args, 3, args.length));
        String json;
        try (EmbeddingStore store = EmbeddingStore.open(storeDir)) {
            json = switch (step) {
                case "build" -> build(store, o);
                case "search" -> search(store, out, o);
                case "exact" -> exact(store, out, o);
                default -> throw new IllegalArgumentException("unknown step " + step);
            };
        }
        String name = step.equals("exact") ? "exact-" + o.get("label", "default") : step;
        Files.writeString(out.resolve("embstore-" + name + ".json"), json + "\n");
        System.out.println(json);
    }

    private static String build(EmbeddingStore store, Options o) {
        int m = o.getInt("m", 16);
        int beam = o.getInt("beam", 100);
        int threads = o.getInt("threads", Runtime.getRuntime().availableProcessors());
        long c = processCpuNanos();
        long t = System.nanoTime();
        try (AnnIndex index = AnnIndex.build(store, new AnnIndexOptions(m, beam, threads), null)) {
            double seconds = (System.nanoTime() - t) / 1e9;
            double cpu = (processCpuNanos() - c) / 1e9;
            return String.format(Locale.ROOT,
                    "{\"rows\": %d, \"dim\": %d, \"m\": %d, \"beam\": %d, \"threads\": %d, \"build_s\": %.3f, "
                            + "\"build_cpu_s\": %.3f, \"index_bytes\": %d}",
                    store.rows(), store.dim(), index.m(), beam, threads, seconds, cpu, indexBytes(store.path()));
        }
    }

    private static long indexBytes(Path dir) {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("ann.")).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String search(EmbeddingStore store, Path out, Options o) throws IOException {
        Truth truth = Truth.read(out);
        int k = truth.k();
        int warmup = o.getInt("warmup", 100);
        StringBuilder curve = new StringBuilder();
        try (AnnIndex index = AnnIndex.open(store)) {
            String[] words = new String[truth.queries().length];
            for (int i = 0; i < words.length; i++) {
                words[i] = store.word(truth.queries()[i]);
            }
            for (String e : o.get("ef", "16,32,64,128,256").split(",")) {
                int ef = Integer.parseInt(e.trim());
                for (int i = 0; i < Math.min(warmup, words.length); i++) {
                    index.mostSimilar(words[i], k, ef);
                }
                long[] ns = new long[words.length];
                long[] cpu = new long[words.length];
                double found = 0;
                for (int i = 0; i < words.length; i++) {
                    long c = THREADS.getCurrentThreadCpuTime();
                    long t = System.nanoTime();
                    List<Neighbor> result = index.mostSimilar(words[i], k, ef);
                    ns[i] = System.nanoTime() - t;
                    cpu[i] = THREADS.getCurrentThreadCpuTime() - c;
                    found += truth.hits(i, result);
                }
                String point = point(ef, found / ((double) k * words.length), ns, cpu);
                System.err.println("embstore: " + point);
                curve.append(curve.isEmpty() ? "" : ", ").append(point);
            }
            return String.format(Locale.ROOT,
                    "{\"rows\": %d, \"dim\": %d, \"m\": %d, \"queries\": %d, \"k\": %d, \"search_threads\": 1, "
                            + "\"curve\": [%s]}",
                    store.rows(), store.dim(), index.m(), words.length, k, curve);
        }
    }

    private static String exact(EmbeddingStore store, Path out, Options o) throws IOException {
        Truth truth = Truth.read(out);
        int k = truth.k();
        int n = Math.min(o.getInt("queries", 30), truth.queries().length);
        for (int i = 0; i < 3; i++) {
            store.mostSimilar(store.word(truth.queries()[truth.queries().length - 1 - i]), k);
        }
        long[] ns = new long[n];
        double found = 0;
        for (int i = 0; i < n; i++) {
            String word = store.word(truth.queries()[i]);
            long t = System.nanoTime();
            List<Neighbor> result = store.mostSimilar(word, k);
            ns[i] = System.nanoTime() - t;
            found += truth.hits(i, result);
        }
        return String.format(Locale.ROOT, "{\"label\": \"%s\", \"processors\": %d, \"queries\": %d, \"recall\": %.4f, "
                        + "\"p50_ms\": %.3f, \"p99_ms\": %.3f}",
                o.get("label", "default"), Runtime.getRuntime().availableProcessors(), n,
                found / ((double) k * n), percentile(ns, 50) / 1e6, percentile(ns, 99) / 1e6);
    }

    private static String point(int ef, double recall, long[] ns, long[] cpu) {
        return String.format(Locale.ROOT, "{\"ef\": %d, \"recall\": %.4f, \"qps\": %.1f, \"p50_ms\": %.4f, "
                        + "\"p99_ms\": %.4f, \"qps_cpu\": %.1f, \"cpu_p50_ms\": %.4f}",
                ef, recall, ns.length / (Arrays.stream(ns).sum() / 1e9), percentile(ns, 50) / 1e6,
                percentile(ns, 99) / 1e6, cpu.length / (Arrays.stream(cpu).sum() / 1e9), percentile(cpu, 50) / 1e6);
    }

    /** CPU time of the whole process (every thread, JIT and GC included). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** The nearest-rank percentile, as numpy's "lower" is close enough for 1000 samples. */
    private static double percentile(long[] ns, double p) {
        long[] sorted = ns.clone();
        Arrays.sort(sorted);
        int i = (int) Math.min(sorted.length - 1, Math.round(p / 100.0 * (sorted.length - 1)));
        return sorted[i];
    }

    /** queries.txt's rows and, per query, truth.txt's exact top k. */
    record Truth(long[] queries, long[][] exact) {
        static Truth read(Path out) throws IOException {
            List<String> lines = Files.readAllLines(out.resolve("truth.txt"));
            long[] q = new long[lines.size()];
            long[][] e = new long[lines.size()][];
            for (int i = 0; i < q.length; i++) {
                long[] v = Arrays.stream(lines.get(i).trim().split(" ")).mapToLong(Long::parseLong).toArray();
                q[i] = v[0];
                e[i] = Arrays.copyOfRange(v, 1, v.length);
            }
            return new Truth(q, e);
        }

        int k() {
            return exact[0].length;
        }

        int hits(int query, List<Neighbor> result) {
            Set<Long> want = new HashSet<>();
            for (long r : exact[query]) {
                want.add(r);
            }
            int hits = 0;
            for (Neighbor nb : result) {
                if (want.contains(nb.row())) {
                    hits++;
                }
            }
            return hits;
        }
    }

    /** {@code --name value} pairs. */
    static final class Options {
        private final List<String> args;

        Options(String[] args) {
            this.args = new ArrayList<>(List.of(args));
        }

        String get(String name, String otherwise) {
            int i = args.indexOf("--" + name);
            return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : otherwise;
        }

        int getInt(String name, int otherwise) {
            return Integer.parseInt(get(name, Integer.toString(otherwise)));
        }
    }
}
