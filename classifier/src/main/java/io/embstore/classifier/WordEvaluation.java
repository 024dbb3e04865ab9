package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.NOT_FOUND;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.formats.InputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The two standard intrinsic evaluations of word vectors, with gensim's conventions: word-pair similarity against
 * human scores (WordSim-353 and the like: Pearson and Spearman correlation over the pairs whose words are known) and
 * analogy questions (Google's {@code questions-words.txt}: {@code a b c d} means a is to b as c is to d; the answer is
 * the nearest word to b - a + c other than a, b, c). Words are lower-cased first, as gensim's
 * {@code case_insensitive=True} does.
 */
public final class WordEvaluation {
    private static final int ANALOGY_BATCH = 64;

    private WordEvaluation() {
    }

    public record PairResult(int pairs, int skipped, double pearson, double spearman) {
    }

    public record Section(String name, int correct, int total) {
    }

    public record AnalogyResult(List<Section> sections, int correct, int total, int skipped) {
        public double accuracy() {
            return total == 0 ? 0 : (double) correct / total;
        }
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ClassifierException(NOT_FOUND, file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static String key(String word) {
        return word.toLowerCase(Locale.ROOT);
    }

    /** Lines {@code word1 word2 score}, tab- or space-separated; {@code #} starts a comment. */
    public static PairResult wordPairs(EmbeddingStore table, Path file) {
        List<Double> human = new ArrayList<>();
        List<Double> model = new ArrayList<>();
        int skipped = 0;
        List<String> lines = lines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("[\\t ]+");
            if (f.length < 3) {
                throw InputException.atLine(file, i + 1, "expected 'word1 word2 score', found '" + line + "'");
            }
            double score;
            try {
                score = Double.parseDouble(f[2]);
            } catch (NumberFormatException e) {
                throw InputException.atLine(file, i + 1, "the score '" + f[2] + "' is not a number");
            }
            String a = key(f[0]);
            String b = key(f[1]);
            if (!table.contains(a) || !table.contains(b)) {
                skipped++;
                continue;
            }
            human.add(score);
            model.add((double) table.similarity(a, b));
        }
        if (human.isEmpty() && skipped == 0) {
            // An empty file (or a wrong path such as /dev/null) would otherwise print a correlation of nothing.
            throw new InputException(file, null, "no word pairs in the file: expected lines 'word1 word2 score'");
        }
        double[] h = human.stream().mapToDouble(Double::doubleValue).toArray();
        double[] m = model.stream().mapToDouble(Double::doubleValue).toArray();
        return new PairResult(h.length, skipped, pearson(h, m), pearson(ranks(h), ranks(m)));
    }

    public static double pearson(double[] x, double[] y) {
        int n = x.length;
        if (n < 2) {
            return Double.NaN;
        }
        double mx = Arrays.stream(x).average().orElse(0);
        double my = Arrays.stream(y).average().orElse(0);
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < n; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    /** Ranks from 1, ties getting the mean of their ranks (as scipy's spearmanr). */
    public static double[] ranks(double[] x) {
        Integer[] order = new Integer[x.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (p, q) -> Double.compare(x[p], x[q]));
        double[] r = new double[x.length];
        for (int i = 0; i < order.length; ) {
            int j = i;
            while (j + 1 < order.length && x[order[j + 1]] == x[order[i]]) {
                j++;
            }
            double mean = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) {
                r[order[t]] = mean;
            }
            i = j + 1;
        }
        return r;
    }

    private record Question(String section, String a, String b, String c, String expected) {
    }

    /** {@code : section} lines, then {@code a b c d} questions. Questions with an unknown word are skipped. */
    public static AnalogyResult analogies(EmbeddingStore table, Path file) {
        List<Question> questions = new ArrayList<>();
        int skipped = 0;
        String section = "";
        List<String> lines = lines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith(":")) {
                section = line.substring(1).strip();
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length != 4) {
                throw InputException.atLine(file, i + 1, "expected four words 'a b c d', found '" + line + "'");
            }
            Question q = new Question(section, key(f[0]), key(f[1]), key(f[2]), key(f[3]));
            if (table.contains(q.a()) && table.contains(q.b()) && table.contains(q.c()) && table.contains(q.expected())) {
                questions.add(q);
            } else {
                skipped++;
            }
        }
        if (questions.isEmpty() && skipped == 0) {
            // An empty file (or a wrong path such as /dev/null) would otherwise print "0 / 0 correct" and succeed.
            throw new InputException(file, null, "no questions in the file: expected lines 'a b c d' (a is to b as c"
                    + " is to d), optionally under ': section' lines");
        }
        Map<String, int[]> perSection = new LinkedHashMap<>();
        int correct = 0;
        int dim = table.dim();
        for (int start = 0; start < questions.size(); start += ANALOGY_BATCH) {
            List<Question> batch = questions.subList(start, Math.min(questions.size(), start + ANALOGY_BATCH));
            float[][] queries = new float[batch.size()][];
            for (int i = 0; i < batch.size(); i++) {
                Question q = batch.get(i);
                float[] target = new float[dim];
                addUnit(table, q.b(), 1, target);
                addUnit(table, q.a(), -1, target);
                addUnit(table, q.c(), 1, target);
                queries[i] = target;
            }
            // Four neighbours are enough: at most three of them are the question's own words.
            List<List<Neighbor>> answers = table.mostSimilar(queries, 4, Set.of());
            for (int i = 0; i < batch.size(); i++) {
                Question q = batch.get(i);
                String predicted = null;
                for (Neighbor n : answers.get(i)) {
                    if (!n.word().equals(q.a()) && !n.word().equals(q.b()) && !n.word().equals(q.c())) {
                        predicted = n.word();
                        break;
                    }
                }
                int[] counts = perSection.computeIfAbsent(q.section(), s -> new int[2]);
                counts[1]++;
                if (q.expected().equals(predicted)) {
                    counts[0]++;
                    correct++;
                }
            }
        }
        List<Section> sections = new ArrayList<>();
        perSection.forEach((name, counts) -> sections.add(new Section(name, counts[0], counts[1])));
        return new AnalogyResult(sections, correct, questions.size(), skipped);
    }

    private static void addUnit(EmbeddingStore table, String word, int sign, float[] target) {
        float[] v = new float[table.dim()];
        table.read(table.rowOf(word), v);
        double norm = 0;
        for (float x : v) {
            norm += (double) x * x;
        }
        double scale = norm == 0 ? 0 : sign / Math.sqrt(norm);
        for (int i = 0; i < v.length; i++) {
            target[i] += (float) (v[i] * scale);
        }
    }
}
