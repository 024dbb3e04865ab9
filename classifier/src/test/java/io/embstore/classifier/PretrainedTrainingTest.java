package io.embstore.classifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Draft;
import io.embstore.store.Init;
import io.embstore.store.OnDuplicate;
import io.embstore.store.SubwordLayout;
import io.embstore.store.Subwords;
import io.embstore.store.WritableStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@code train-classifier --pretrained}: which rows match, frozen rows kept bit for bit, fine-tuned rows moving. */
class PretrainedTrainingTest {
    private static final int DIM = 6;
    /**
     * The store's words, in row order: "the" exactly (row 1) wins over the lower row "The"; "good" has no exact
     * spelling, so its lowest variant "GOOD" (row 2) wins over "Good"; "bad" exactly; "x y" can never be a token.
     */
    private static final List<String> STORE_WORDS = List.of("The", "the", "GOOD", "Good", "bad", "x y", "unused");

    @TempDir
    Path tmp;

    /** Lines over the words the, good, bad (in the store) and film, movie, plot (not). */
    private static List<Tokenizer.Line> lines(long seed, int n) {
        Random random = new Random(seed);
        String[] pos = {"good", "film", "The"};
        String[] neg = {"bad", "movie", "plot"};
        List<Tokenizer.Line> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean p = random.nextBoolean();
            String[] words = p ? pos : neg;
            out.add(Tokenizer.split("__label__" + (p ? "pos " : "neg ") + words[random.nextInt(3)] + " "
                    + words[random.nextInt(3)] + " the"));
        }
        return out;
    }

    private Path store(Dtype dtype) {
        Path dir = tmp.resolve("vectors-" + dtype.label());
        try (WritableStore s = EmbeddingStore.builder(dir).words(STORE_WORDS).dim(DIM).dtype(dtype)
                .init(Init.normal(5)).create()) {
            float[] row = new float[DIM];
            for (int r = 0; r < STORE_WORDS.size(); r++) {
                java.util.Arrays.fill(row, r + 0.25f); // row r holds r + 1/4 everywhere: which row was copied shows
                s.write(r, row);
            }
            s.recordChecksums();
        }
        return dir;
    }

    private static ClassifierTraining.Settings settings(Path pretrained, boolean freeze, int dim, long seed) {
        // lr 0.01 over 3 epochs of 25 steps: Adam moves a value by at most about 0.5 in all (a step moves it by about lr).
        return new ClassifierTraining.Settings(dim, 1, 1000, 1, 3, 0.01, 8, seed, 1, pretrained, freeze);
    }

    private static float[] row(EmbeddingStore s, String word) {
        float[] v = new float[s.dim()];
        s.read(s.rowOf(word), v);
        return v;
    }

    @ParameterizedTest
    @EnumSource(value = Dtype.class, names = {"F32", "F16", "Q8"})
    void frozenRowsKeepTheStoresVectorsBitForBitAndTheOthersTrain(Dtype dtype) {
        Path vectors = store(dtype);
        Path model = tmp.resolve("frozen");
        List<ClassifierModel.Pretrained> heard = new ArrayList<>();
        ClassifierTraining.Result result = ClassifierTraining.train(lines(1, 200), List.of(), settings(vectors, true, 0, 1),
                model, new ClassifierTraining.Listener() {
                    @Override
                    public void pretrained(ClassifierModel.Pretrained origin, int words) {
                        heard.add(origin);
                        assertEquals(6, words);
                    }
                });
        assertEquals(1, heard.size());
        ClassifierModel.Pretrained p = result.model().pretrained().orElseThrow();
        assertEquals(3, p.words(), "the, good, bad of the, good, film, bad, movie, plot");
        assertTrue(p.frozen());
        assertEquals(vectors.toAbsolutePath().normalize().toString(), p.store());
        try (EmbeddingStore source = EmbeddingStore.open(vectors); EmbeddingStore table = EmbeddingStore.open(model)) {
            assertEquals(source.recordedMatrixChecksum(), p.matrixChecksum());
            assertEquals(source.generation(), p.generation());
            assertEquals(DIM, table.dim(), "the dim is the store's");
            assertArrayEquals(row(source, "the"), row(table, "the"), "the exact spelling wins");
            assertArrayEquals(row(source, "GOOD"), row(table, "good"), "else the lowest row among the spellings");
            assertArrayEquals(row(source, "bad"), row(table, "bad"));
            float bound = 1f / DIM;
            for (String w : List.of("film", "movie", "plot")) {
                float largest = 0;
                for (float x : row(table, w)) {
                    largest = Math.max(largest, Math.abs(x));
                }
                // Started uniform in +-1/dim (no copied row is below 1.25) and trained out of that range.
                assertTrue(largest > bound && largest < 1, w + ": " + largest);
            }
        }
        // The model file records the origin and reads back the same.
        ClassifierModel read = ClassifierModel.read(model);
        assertEquals(p, read.pretrained().orElseThrow());
    }

    /**
     * A store with fastText's n-gram rows (as converted from a {@code .bin} model): the words "the", "good", "bad",
     * then {@code buckets} bucket rows, bucket b holding (b + 1) / 64 in every dimension.
     */
    private Path subwordStore(int buckets) {
        Path dir = tmp.resolve("subwords");
        List<String> words = List.of("the", "good", "bad");
        try (Draft draft = EmbeddingStore.builder(dir).dim(DIM).draft()) {
            long rows = words.size() + buckets;
            draft.ensureCapacity(rows);
            draft.ensureWordCapacity(rows * 40);
            float[] row = new float[DIM];
            for (int r = 0; r < rows; r++) {
                String word = r < words.size() ? words.get(r) : Subwords.bucketWord(r - words.size());
                java.util.Arrays.fill(row, r < words.size() ? r + 0.25f : (r - words.size() + 1) / 64f);
                draft.putRow(r, row, 0);
                draft.putWord(r, MemorySegment.ofArray(word.getBytes(StandardCharsets.UTF_8)));
            }
            draft.subwords(new SubwordLayout(3, 4, buckets, words.size()));
            draft.commit(rows, OnDuplicate.KEEP_FIRST, null);
        }
        return dir;
    }

    @Test
    void wordsTheStoreLacksStartFromItsNgramRowsAndFreezeWithTheOthers() {
        Path vectors = subwordStore(50);
        Path model = tmp.resolve("from-subwords");
        ClassifierTraining.Result result = ClassifierTraining.train(lines(1, 200), List.of(), settings(vectors, true, 0, 1),
                model, new ClassifierTraining.Listener() { });
        ClassifierModel.Pretrained p = result.model().pretrained().orElseThrow();
        assertEquals(3, p.words(), "the, good, bad");
        assertEquals(3, p.subwordWords(), "film, movie, plot from their n-grams");
        try (EmbeddingStore source = EmbeddingStore.open(vectors); EmbeddingStore table = EmbeddingStore.open(model)) {
            Subwords subwords = source.subwords().orElseThrow();
            float[] expected = new float[DIM];
            for (String w : List.of("film", "movie", "plot")) {
                assertTrue(subwords.vector(w, expected) > 0, w);
                assertArrayEquals(expected, row(table, w), w + ": frozen at the vector fastText gives an unknown word");
            }
            assertArrayEquals(row(source, "good"), row(table, "good"));
        }
        assertEquals(p, ClassifierModel.read(model).pretrained().orElseThrow(), "the count survives the model file");
    }

    @Test
    void fineTunedRowsMoveAndTheSameSeedGivesTheSameModel() throws IOException {
        Path vectors = store(Dtype.F32);
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        for (Path m : List.of(a, b)) {
            ClassifierTraining.train(lines(2, 200), List.of(), settings(vectors, false, DIM, 9), m,
                    new ClassifierTraining.Listener() { });
        }
        assertEquals(Files.readString(a.resolve(ClassifierModel.FILE)), Files.readString(b.resolve(ClassifierModel.FILE)));
        try (EmbeddingStore source = EmbeddingStore.open(vectors); EmbeddingStore x = EmbeddingStore.open(a);
             EmbeddingStore y = EmbeddingStore.open(b)) {
            for (long r = 0; r < x.rows(); r++) {
                float[] u = new float[DIM];
                float[] v = new float[DIM];
                x.read(r, u);
                y.read(r, v);
                assertArrayEquals(u, v, "row " + r + " is the same with the same seed");
            }
            for (String w : List.of("the", "good", "bad")) {
                float[] start = row(source, w.equals("good") ? "GOOD" : w);
                float[] tuned = row(x, w);
                assertFalse(java.util.Arrays.equals(start, tuned), w + " was fine-tuned");
                assertEquals(start[0], tuned[0], 0.6, w + " started from the store's row");
            }
            assertFalse(ClassifierModel.read(a).pretrained().orElseThrow().frozen());
        }
    }

    @Test
    void badStoresAreOneLineErrors() {
        List<Tokenizer.Line> lines = lines(3, 50);
        Path missing = tmp.resolve("nothing-here");
        ClassifierException e = assertThrows(ClassifierException.class, () -> ClassifierTraining.train(lines, List.of(),
                settings(missing, false, 0, 1), tmp.resolve("m1"), new ClassifierTraining.Listener() { }));
        assertEquals(ClassifierException.Kind.NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("--pretrained"), e.getMessage());

        Path ids = tmp.resolve("ids");
        EmbeddingStore.builder(ids).vocabulary(false).rows(10).dim(DIM).init(Init.normal(1)).create().close();
        e = assertThrows(ClassifierException.class, () -> ClassifierTraining.train(lines, List.of(),
                settings(ids, false, 0, 1), tmp.resolve("m2"), new ClassifierTraining.Listener() { }));
        assertTrue(e.getMessage().contains("no words"), e.getMessage());

        Path foreign = tmp.resolve("foreign");
        EmbeddingStore.builder(foreign).words(List.of("hund", "katze")).dim(DIM).init(Init.normal(1)).create().close();
        e = assertThrows(ClassifierException.class, () -> ClassifierTraining.train(lines, List.of(),
                settings(foreign, false, 0, 1), tmp.resolve("m3"), new ClassifierTraining.Listener() { }));
        assertTrue(e.getMessage().contains("none of the 6 words"), e.getMessage());

        Path vectors = store(Dtype.F32);
        e = assertThrows(ClassifierException.class, () -> ClassifierTraining.train(lines, List.of(),
                settings(vectors, false, DIM + 1, 1), tmp.resolve("m4"), new ClassifierTraining.Listener() { }));
        assertTrue(e.getMessage().contains("--dim " + (DIM + 1)) && e.getMessage().contains("dim " + DIM), e.getMessage());
        for (String m : List.of("m1", "m2", "m3", "m4")) {
            assertFalse(Files.exists(tmp.resolve(m)), m + " left behind");
        }
    }

    @Test
    void modelFilesWithoutAnOriginStillLoadAndPathsSurviveTheLineFormat() {
        assertEquals("a\\\\b\\nc d", ClassifierModel.escape("a\\b\nc d"));
        assertEquals("a\\b\nc d\r", ClassifierModel.unescape(ClassifierModel.escape("a\\b\nc d\r")));
        Path model = tmp.resolve("plain");
        ClassifierTraining.train(lines(4, 50), List.of(), new ClassifierTraining.Settings(DIM, 1, 1000, 1, 1, 0.05, 8, 1, 1),
                model, new ClassifierTraining.Listener() { });
        assertTrue(ClassifierModel.read(model).pretrained().isEmpty());
    }
}
