package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.classifier.WordEvaluation;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** similar, analogy, similarity and evaluate on real vector files, against references computed here in double. */
class SimilarityCommandsTest {
    @TempDir
    Path tmp;

    private Map<String, double[]> vectors;
    private List<String> order;
    private Path store;

    @BeforeEach
    void convertLee() throws IOException {
        Path file = SharedData.file("lee_fasttext.vec");
        store = tmp.resolve("lee");
        CliRun run = CliRun.of("convert", file.toString(), store.toString(), "--quiet");
        assertEquals(0, run.status(), run.toString());
        vectors = new HashMap<>();
        order = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.strip().split(" ");
            double[] v = new double[f.length - 1];
            for (int i = 1; i < f.length; i++) {
                v[i - 1] = Float.parseFloat(f[i]);
            }
            vectors.put(f[0], v);
            order.add(f[0]);
        }
    }

    private double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    @Test
    void similarMatchesABruteForceReference() {
        CliRun run = CliRun.of("similar", store.toString(), "the", "government", "-k", "5", "--json");
        assertEquals(0, run.status(), run.toString());
        for (String word : List.of("the", "government")) {
            List<String> expected = order.stream().filter(w -> !w.equals(word))
                    .sorted(Comparator.comparingDouble((String w) -> -cosine(vectors.get(word), vectors.get(w))))
                    .limit(5).toList();
            JsonNode got = run.json().get(word);
            List<String> words = new ArrayList<>();
            for (int i = 0; i < got.size(); i++) {
                words.add(got.get(i).get("word").asText());
                assertEquals(cosine(vectors.get(word), vectors.get(words.get(i))), got.get(i).get("similarity").asDouble(), 1e-5);
            }
            assertEquals(expected, words, "neighbours of " + word);
        }
    }

    /** {@code -k} far beyond the table lists every other row (it was an OutOfMemoryError with a stack trace). */
    @Test
    void aHugeKListsEveryOtherRow() {
        CliRun run = CliRun.of("similar", store.toString(), "the", "-k", Integer.toString(Integer.MAX_VALUE - 1), "--json");
        assertEquals(0, run.status(), run.toString());
        assertEquals(order.size() - 1, run.json().get("the").size());
        CliRun analogy = CliRun.of("analogy", store.toString(), "the", "of", "to", "-k",
                Integer.toString(Integer.MAX_VALUE), "--json");
        assertEquals(0, analogy.status(), analogy.toString());
        assertEquals(order.size() - 3, analogy.json().size());
    }

    @Test
    void similarityAndAnalogyAnswerAndUnknownWordsAreNotFound() {
        CliRun sim = CliRun.of("similarity", store.toString(), "the", "of");
        assertEquals(0, sim.status(), sim.toString());
        assertEquals(cosine(vectors.get("the"), vectors.get("of")), Double.parseDouble(sim.out().strip()), 1e-5);
        CliRun analogy = CliRun.of("analogy", store.toString(), "the", "of", "to", "-k", "3", "--json");
        assertEquals(0, analogy.status(), analogy.toString());
        assertEquals(3, analogy.json().size());
        CliRun oov = CliRun.of("similar", store.toString(), "qwertyuiop");
        assertEquals(ExitCode.NOT_FOUND, oov.status(), oov.toString());
        assertEquals(1, oov.errLines().length, oov.toString());
        assertTrue(oov.err().contains("'qwertyuiop' is not in the vocabulary"), oov.err());
    }

    @Test
    void evaluateOnWordSimAndTheGoogleAnalogies() throws IOException {
        Path pairs = SharedData.file("wordsim353.tsv");
        Path questions = SharedData.file("questions-words.txt");
        CliRun run = CliRun.of("evaluate", store.toString(), "--word-pairs", pairs.toString(), "--analogies",
                questions.toString(), "--json");
        assertEquals(0, run.status(), run.toString());
        // Reference Spearman over the pairs whose lower-cased words are known.
        List<double[]> known = new ArrayList<>();
        int skipped = 0;
        for (String line : Files.readAllLines(pairs, StandardCharsets.UTF_8)) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            double[] a = vectors.get(f[0].toLowerCase(Locale.ROOT));
            double[] b = vectors.get(f[1].toLowerCase(Locale.ROOT));
            if (a == null || b == null) {
                skipped++;
                continue;
            }
            known.add(new double[] {Double.parseDouble(f[2]), cosine(a, b)});
        }
        double[] human = known.stream().mapToDouble(p -> p[0]).toArray();
        double[] model = known.stream().mapToDouble(p -> p[1]).toArray();
        JsonNode wp = run.json().get("word_pairs");
        assertEquals(known.size(), wp.get("pairs").asInt());
        assertEquals(skipped, wp.get("skipped").asInt());
        assertEquals(WordEvaluation.pearson(WordEvaluation.ranks(human), WordEvaluation.ranks(model)),
                wp.get("spearman").asDouble(), 1e-4);
        // Reference analogy accuracy by brute force in double.
        int correct = 0;
        int total = 0;
        for (String line : Files.readAllLines(questions, StandardCharsets.UTF_8)) {
            if (line.startsWith(":")) {
                continue;
            }
            String[] q = line.toLowerCase(Locale.ROOT).split(" ");
            if (!vectors.keySet().containsAll(List.of(q))) {
                continue;
            }
            total++;
            double[] target = new double[vectors.get(q[0]).length];
            for (int k = 0; k < 3; k++) {
                double[] v = vectors.get(q[k]);
                double norm = Math.sqrt(cosineNorm(v));
                for (int i = 0; i < v.length; i++) {
                    target[i] += (k == 0 ? -1 : 1) * v[i] / norm;
                }
            }
            String best = null;
            double bestScore = -2;
            for (String w : order) {
                if (w.equals(q[0]) || w.equals(q[1]) || w.equals(q[2])) {
                    continue;
                }
                double s = cosine(target, vectors.get(w));
                if (s > bestScore) {
                    bestScore = s;
                    best = w;
                }
            }
            if (q[3].equals(best)) {
                correct++;
            }
        }
        JsonNode an = run.json().get("analogies");
        assertEquals(total, an.get("total").asInt());
        assertEquals(correct, an.get("correct").asInt());
        assertTrue(total > 50, "lee_fasttext.vec covers " + total + " questions");
    }

    private static double cosineNorm(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return s;
    }
}
