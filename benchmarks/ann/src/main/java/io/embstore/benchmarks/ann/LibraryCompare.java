package io.embstore.benchmarks.ann;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.ListRandomAccessVectorValues;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import org.apache.lucene.codecs.hnsw.FlatVectorScorerUtil;
import org.apache.lucene.codecs.hnsw.FlatVectorsScorer;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.util.hnsw.HnswConcurrentMergeBuilder;
import org.apache.lucene.util.hnsw.HnswGraphSearcher;
import org.apache.lucene.util.hnsw.LuceneGraphs;
import org.apache.lucene.util.hnsw.OnHeapHnswGraph;
import org.apache.lucene.util.hnsw.RandomVectorScorerSupplier;

/**
 * The prototype behind the choice of graph library (benchmarks/results/ann.md, "jvector or Lucene"): jvector's
 * {@code GraphIndexBuilder}/{@code GraphSearcher} and Lucene's HNSW ({@code HnswConcurrentMergeBuilder}, the
 * multi-threaded builder Lucene merges with, and {@code HnswGraphSearcher}) on the same unit vectors on the heap
 * (the first ROWS rows of a store), same degree, beam and build threads; then every query alone on one thread for
 * each ef. No re-ranking, no store: the libraries alone. Exact answers by the store's scan over the same rows.
 *
 * <pre>
 * java -Xmx6g --add-modules jdk.incubator.vector -cp benchmarks/ann/target/ann-bench.jar \
 *     io.embstore.benchmarks.ann.LibraryCompare STORE OUT [--rows 200000] [--m 16] [--beam 100] [--threads 2]
 *     [--ef 16,32,64,128,256] [--queries 500]
 * </pre>
 * Degrees differ by design between the two: jvector's M is the one layer's degree (its graph is flat, Vamana-like,
 * with alpha 1.2 pruning); Lucene's M is the upper layers' degree and 2M the bottom layer's, as FAISS'. The output says
 * both.
 */
public final class LibraryCompare {
    private static final VectorTypeSupport TYPES = VectorizationProvider.getInstance().getVectorTypeSupport();

    private LibraryCompare() {
    }

    public static void main(String[] args) throws Exception {
        Path storeDir = Path.of(args[0]);
        Path out = Path.of(args[1]);
        AnnBench.Options o = new AnnBench.Options(Arrays.copyOfRange(args, 2, args.length));
        int m = o.getInt("m", 16);
        int beam = o.getInt("beam", 100);
        int threads = o.getInt("threads", Runtime.getRuntime().availableProcessors());
        int k = 10;
        int[] efs = Arrays.stream(o.get("ef", "16,32,64,128,256").split(",")).mapToInt(Integer::parseInt).toArray();
        StringBuilder json = new StringBuilder();
        try (EmbeddingStore store = EmbeddingStore.open(storeDir)) {
            int rows = (int) Math.min(store.rows(), o.getInt("rows", 200_000));
            int dim = store.dim();
            float[][] unit = new float[rows][dim];
            for (int r = 0; r < rows; r++) {
                store.read(r, unit[r]);
                double s = 0;
                for (float x : unit[r]) {
                    s += (double) x * x;
                }
                float inv = (float) (1 / Math.sqrt(s));
                for (int i = 0; i < dim; i++) {
                    unit[r][i] *= inv;
                }
            }
            int nq = Math.min(o.getInt("queries", 500), rows);
            int[] queries = new int[nq];
            for (int i = 0; i < nq; i++) {
                queries[i] = (int) ((i * 7919L + 13) % rows);
            }
            long[][] exact = exact(store, queries, k, rows);
            System.err.printf(Locale.ROOT, "compare: %d rows x %d, %d queries, exact answers ready%n", rows, dim, nq);
            json.append(String.format(Locale.ROOT, "{\"rows\": %d, \"dim\": %d, \"m\": %d, \"beam\": %d, "
                    + "\"threads\": %d, \"queries\": %d, \"k\": %d", rows, dim, m, beam, threads, nq, k));
            Set<String> libs = Set.of(o.get("libs", "jvector,lucene").split(","));
            if (libs.contains("jvector")) {
                json.append(", \"jvector\": ").append(jvector(unit, queries, exact, k, m, beam, threads, efs));
            }
            if (libs.contains("lucene")) {
                json.append(", \"lucene\": ").append(lucene(unit, queries, exact, k, m, beam, threads, efs));
            }
            json.append("}");
        }
        Files.writeString(out.resolve("library-compare.json"), json + "\n");
        System.out.println(json);
    }

    /** The store's exact top k of each query row among rows [0, rows), without the row itself. */
    private static long[][] exact(EmbeddingStore store, int[] queries, int k, int rows) {
        long[][] exact = new long[queries.length][];
        for (int from = 0; from < queries.length; from += 64) {
            List<String> words = new ArrayList<>();
            for (int i = from; i < Math.min(queries.length, from + 64); i++) {
                words.add(store.word(queries[i]));
            }
            List<List<Neighbor>> answers = store.mostSimilar(words, k, rows);
            for (int i = 0; i < words.size(); i++) {
                exact[from + i] = answers.get(i).stream().mapToLong(Neighbor::row).toArray();
            }
        }
        return exact;
    }

    private interface Search {
        int[] run(float[] query, int ef) throws IOException;
    }

    private static String curve(float[][] unit, int[] queries, long[][] exact, int k, int[] efs, Search search)
            throws IOException {
        StringBuilder sb = new StringBuilder("[");
        for (int ef : efs) {
            for (int i = 0; i < Math.min(100, queries.length); i++) {
                search.run(unit[queries[i]], ef);
            }
            long[] ns = new long[queries.length];
            double hits = 0;
            for (int i = 0; i < queries.length; i++) {
                long t = System.nanoTime();
                int[] found = search.run(unit[queries[i]], ef);
                ns[i] = System.nanoTime() - t;
                Set<Long> want = new HashSet<>();
                for (long r : exact[i]) {
                    want.add(r);
                }
                int taken = 0;
                for (int r : found) {
                    if (r != queries[i] && taken < k) {
                        taken++;
                        hits += want.contains((long) r) ? 1 : 0;
                    }
                }
            }
            long sum = Arrays.stream(ns).sum();
            Arrays.sort(ns);
            String point = String.format(Locale.ROOT, "{\"ef\": %d, \"recall\": %.4f, \"qps\": %.1f, \"p50_ms\": %.4f}",
                    ef, hits / ((double) k * queries.length), queries.length / (sum / 1e9), ns[ns.length / 2] / 1e6);
            System.err.println("compare:   " + point);
            sb.append(sb.length() > 1 ? ", " : "").append(point);
        }
        return sb.append("]").toString();
    }

    private static String jvector(float[][] unit, int[] queries, long[][] exact, int k, int m, int beam, int threads,
                                  int[] efs) throws IOException {
        List<VectorFloat<?>> vectors = new ArrayList<>(unit.length);
        for (float[] v : unit) {
            vectors.add(TYPES.createFloatVector(v));
        }
        var ravv = new ListRandomAccessVectorValues(vectors, unit[0].length);
        ForkJoinPool pool = new ForkJoinPool(threads);
        long t = System.nanoTime();
        OnHeapGraphIndex graph;
        try (GraphIndexBuilder builder = new GraphIndexBuilder(
                BuildScoreProvider.randomAccessScoreProvider(ravv, VectorSimilarityFunction.DOT_PRODUCT),
                unit[0].length, m, beam, 1.2f, 1.2f, pool, pool)) {
            graph = builder.build(ravv);
        }
        double build = (System.nanoTime() - t) / 1e9;
        pool.shutdown();
        System.err.printf(Locale.ROOT, "compare: jvector built in %.1f s%n", build);
        try (GraphSearcher searcher = new GraphSearcher(graph)) {
            String curve = curve(unit, queries, exact, k, efs, (q, ef) -> {
                SearchResult r = searcher.search(
                        SearchScoreProvider.exact(TYPES.createFloatVector(q), VectorSimilarityFunction.DOT_PRODUCT,
                                ravv), k + 1, Math.max(ef, k + 1), 0f, 0f, io.github.jbellis.jvector.util.Bits.ALL);
                return Arrays.stream(r.getNodes()).mapToInt(n -> n.node).toArray();
            });
            return String.format(Locale.ROOT, "{\"version\": \"3.0.6\", \"degree\": %d, \"build_s\": %.2f, "
                    + "\"curve\": %s}", graph.maxDegree(), build, curve);
        }
    }

    private static String lucene(float[][] unit, int[] queries, long[][] exact, int k, int m, int beam, int threads,
                                 int[] efs) throws IOException {
        FloatVectorValues values = FloatVectorValues.fromFloats(Arrays.asList(unit), unit[0].length);
        FlatVectorsScorer scorer = FlatVectorScorerUtil.getLucene99FlatVectorsScorer();
        var similarity = org.apache.lucene.index.VectorSimilarityFunction.DOT_PRODUCT;
        RandomVectorScorerSupplier supplier = scorer.getRandomVectorScorerSupplier(similarity, values);
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        long t = System.nanoTime();
        OnHeapHnswGraph graph = LuceneGraphs.emptyGraph(m, unit.length);
        new HnswConcurrentMergeBuilder(new TaskExecutor(executor), threads, supplier, m, beam, graph, null)
                .build(unit.length);
        double build = (System.nanoTime() - t) / 1e9;
        executor.shutdown();
        System.err.printf(Locale.ROOT, "compare: Lucene built in %.1f s%n", build);
        String curve = curve(unit, queries, exact, k, efs, (q, ef) -> {
            TopKnnCollector collector = new TopKnnCollector(Math.max(ef, k + 1), Integer.MAX_VALUE);
            HnswGraphSearcher.search(scorer.getRandomVectorScorer(similarity, values, q), collector, graph, null);
            TopDocs top = collector.topDocs();
            int[] rows = new int[Math.min(k + 1, top.scoreDocs.length)];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = top.scoreDocs[i].doc;
            }
            return rows;
        });
        return String.format(Locale.ROOT, "{\"version\": \"%s\", \"degree\": \"%d (bottom layer %d)\", "
                + "\"build_s\": %.2f, \"curve\": %s}", org.apache.lucene.util.Version.LATEST, m, 2 * m, build, curve);
    }
}
