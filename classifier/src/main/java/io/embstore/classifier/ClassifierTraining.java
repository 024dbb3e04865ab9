package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.INVALID;

import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.ReadMode;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer;
import org.agrona.collections.Object2IntHashMap;
import org.roaringbitmap.RoaringBitmap;

/**
 * The training job behind {@code embstore train-classifier}: builds the vocabulary, creates the embedding table as a
 * store, and trains it with the {@link SparseTrainer}'s lazy Adam (each mini-batch one step over the rows it used)
 * while the small output layer gets dense Adam on the heap. The model directory appears, complete, only at the end.
 */
public final class ClassifierTraining {
    /**
     * What the command line chose.
     *
     * @param dim        the embedding size; 0 with {@code pretrained}: the pretrained store's (another value must equal it)
     * @param pretrained a store whose rows the words start from, or null: every row starts at random
     * @param freeze     with {@code pretrained}: keep the rows that came from it fixed, train only the others
     */
    public record Settings(int dim, int ngrams, int buckets, int minCount, int epochs, double lr, int batch, long seed,
                    int threads, Path pretrained, boolean freeze) {
        /** Without pretrained rows. */
        public Settings(int dim, int ngrams, int buckets, int minCount, int epochs, double lr, int batch, long seed,
                        int threads) {
            this(dim, ngrams, buckets, minCount, epochs, lr, batch, seed, threads, null, false);
        }

        ClassifierModel.Hyperparameters hyperparameters() {
            return new ClassifierModel.Hyperparameters(dim, ngrams, buckets, minCount, epochs, lr, batch, seed);
        }

        Settings withDim(int d) {
            return new Settings(d, ngrams, buckets, minCount, epochs, lr, batch, seed, threads, pretrained, freeze);
        }
    }

    /** One epoch's figures: mean training loss and accuracy (as the examples went by), held-out accuracy or NaN. */
    public record EpochStats(int epoch, double loss, double trainAccuracy, double devAccuracy) {
    }

    /** Hears of the training as it goes (the progress bar). */
    public interface Listener {
        /** With a pretrained store, before the first batch: how many of the vocabulary's {@code words} it had. */
        default void pretrained(ClassifierModel.Pretrained origin, int words) {
        }

        /** Before the first batch: how many examples all the epochs will go through. */
        default void started(long totalExamples) {
        }

        /** After each batch: examples done so far in this run, and the running mean loss of this epoch. */
        default void advanced(long examplesDone, double epochLoss, int epoch) {
        }

        default void epochEnded(EpochStats stats) {
        }
    }

    /** What training gives. */
    public record Result(ClassifierModel model, List<EpochStats> epochs, int trainExamples, int devExamples,
                         long nanos) {
    }

    /** Training examples as flat arrays: example i has rows {@code rows[starts[i], starts[i+1])}. */
    private record Examples(int[] rows, int[] starts, int[][] labels) {
        int size() {
            return labels.length;
        }

        int count(int i) {
            return starts[i + 1] - starts[i];
        }
    }

    private ClassifierTraining() {
    }

    /**
     * Trains on {@code train} (each line's first label is its target) and, when {@code dev} is not empty, reports
     * accuracy on it after each epoch; writes the model to {@code modelDir}, which must not exist.
     */
    public static Result train(List<Tokenizer.Line> train, List<Tokenizer.Line> dev, Settings s, Path modelDir,
                               Listener listener) {
        if (s.pretrained() == null) {
            if (s.dim() < 1) {
                throw new IllegalArgumentException("dim " + s.dim() + ": only a pretrained store can choose the dim");
            }
            return train(train, dev, s, modelDir, listener, null);
        }
        try (PretrainedRows pretrained = PretrainedRows.open(s.pretrained())) {
            int dim = pretrained.dim();
            if (s.dim() != 0 && s.dim() != dim) {
                throw new ClassifierException(INVALID, "--dim " + s.dim() + " does not match the dim " + dim
                        + " of the pretrained store " + s.pretrained() + ": leave --dim out (it is the store's)");
            }
            return train(train, dev, s.withDim(dim), modelDir, listener, pretrained);
        }
    }

    private static Result train(List<Tokenizer.Line> train, List<Tokenizer.Line> dev, Settings s, Path modelDir,
                                Listener listener, PretrainedRows pretrained) {
        long started = System.nanoTime();
        List<String> labels = labelsByFrequency(train);
        if (labels.size() < 2) {
            throw new ClassifierException(INVALID, "the training data has only the label " + labels.get(0)
                    + ": a classifier needs at least two");
        }
        Object2IntHashMap<String> labelIds = new Object2IntHashMap<>(16, 0.6f, -1);
        for (int i = 0; i < labels.size(); i++) {
            labelIds.put(labels.get(i), i);
        }
        List<List<String>> docs = new ArrayList<>(train.size());
        for (Tokenizer.Line line : train) {
            docs.add(line.words());
        }
        Vocabulary vocabulary = Vocabulary.build(docs, s.minCount(), s.ngrams(), s.buckets());
        ClassifierModel.Pretrained origin = null;
        if (pretrained != null) {
            pretrained.match(vocabulary.rowWords(), vocabulary.wordCount());
            origin = pretrained.provenance(s.freeze());
            listener.pretrained(origin, vocabulary.wordCount());
        }
        Examples trainSet = examples(train, vocabulary, labelIds, s);
        Examples devSet = examples(dev, vocabulary, labelIds, s);

        // A temporary sibling that a later run sweeps if this one is killed (TempSibling.sweepStale).
        Path temp = TempSibling.name(modelDir);
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        // Ctrl-C or kill (not -9) during a long training: the hook deletes the half-trained model on the way out.
        Thread cleanup = new Thread(() -> {
            if (!done.get()) {
                deleteTree(temp);
            }
        }, "embstore-model-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            ClassifierModel model;
            List<EpochStats> history;
            // fastText's initialisation: embeddings uniform in +-1/dim, output layer zero.
            float bound = 1f / s.dim();
            try (WritableStore table = EmbeddingStore.builder(temp)
                    .dim(s.dim())
                    .words(vocabulary.rowWords())
                    .init(Init.uniform(-bound, bound, s.seed()))
                    .create()) {
                RoaringBitmap frozen = new RoaringBitmap();
                if (pretrained != null) {
                    pretrained.copyInto(table);
                    if (s.freeze()) {
                        frozen = pretrained.rows();
                    }
                }
                float[] weights = new float[labels.size() * s.dim()];
                float[] bias = new float[labels.size()];
                history = loop(table, trainSet, devSet, weights, bias, labels.size(), s, frozen, listener);
                table.flush();
                model = new ClassifierModel(s.hyperparameters(), labels, vocabulary.wordCount(),
                        vocabulary.bucketCount(), weights, bias, origin);
                model.write(temp);
            }
            try {
                DurableFiles.publishDirectory(temp, modelDir);
            } catch (IOException e) {
                throw new UncheckedIOException(modelDir + ": cannot move the trained model into place ("
                        + e.getMessage() + ")", e);
            }
            done.set(true);
            return new Result(model, history, trainSet.size(), devSet.size(), System.nanoTime() - started);
        } finally {
            if (!done.get()) {
                deleteTree(temp);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // The hook runs, or ran.
            }
        }
    }

    private static List<EpochStats> loop(EmbeddingStore table, Examples train, Examples dev, float[] weights,
                                         float[] bias, int labels, Settings s, RoaringBitmap frozen, Listener listener) {
        int n = train.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random random = new Random(s.seed());
        Batches batches = new Batches(table, train, weights, bias, labels, s);
        List<EpochStats> history = new ArrayList<>();
        listener.started((long) n * s.epochs());
        try (SparseTrainer trainer = SparseTrainer.attach(table, SparseTrainer.Options.adam()
                .learningRate(s.lr())
                .threads(s.threads())
                .undoLog(false).build())) { // a failed run leaves nothing to resume: its directory is deleted
            trainer.freezeRows(frozen);
            for (int epoch = 1; epoch <= s.epochs(); epoch++) {
                // The learning rate falls linearly over the epochs, as fastText's does (here a step per epoch).
                double epochLr = s.lr() * (s.epochs() - epoch + 1) / s.epochs();
                trainer.setLearningRate(epochLr);
                shuffle(order, random);
                batches.epoch(trainer, order, epochLr, epoch, listener);
                double devAccuracy = dev.size() == 0 ? Double.NaN : accuracy(table, dev, weights, bias, labels, s.dim());
                EpochStats stats = new EpochStats(epoch, batches.lossSum / n, (double) batches.correct / n, devAccuracy);
                history.add(stats);
                listener.epochEnded(stats);
            }
        }
        return history;
    }

    /** Mini-batch steps over the training examples, with the buffers they reuse. */
    private static final class Batches {
        private final EmbeddingStore table;
        private final Examples train;
        private final float[] weights;
        private final float[] bias;
        private final int labels;
        private final int dim;
        private final int batch;
        private final float[] gathered;
        private final float[] grads;
        private final MemorySegment gradSegment;
        private final float[] dW;
        private final float[] db;
        private final float[] h;
        private final float[] probs;
        private final float[] dRow;
        private final DenseAdam adamW;
        private final DenseAdam adamB;
        private long done;
        double lossSum;
        int correct;

        Batches(EmbeddingStore table, Examples train, float[] weights, float[] bias, int labels, Settings s) {
            this.table = table;
            this.train = train;
            this.weights = weights;
            this.bias = bias;
            this.labels = labels;
            this.dim = s.dim();
            this.batch = s.batch();
            int maxRows = 1;
            for (int i = 0; i < train.size(); i++) {
                maxRows = Math.max(maxRows, train.count(i));
            }
            // The largest batch's rows: every buffer is allocated once.
            long cap = (long) Math.min(batch, train.size()) * maxRows * dim;
            if (cap > Integer.MAX_VALUE - 8) {
                throw new ClassifierException(INVALID, "a batch of " + batch + " of the longest examples (" + maxRows
                        + " rows) x dim " + dim + " needs more than 2^31 floats: lower --batch or --dim");
            }
            this.gathered = new float[(int) cap];
            this.grads = new float[(int) cap];
            this.gradSegment = MemorySegment.ofArray(grads);
            this.dW = new float[weights.length];
            this.db = new float[bias.length];
            this.h = new float[dim];
            this.probs = new float[labels];
            this.dRow = new float[dim];
            this.adamW = new DenseAdam(weights.length);
            this.adamB = new DenseAdam(bias.length);
        }

        /** One pass over the examples in {@code order}; sets {@link #lossSum} and {@link #correct}. */
        void epoch(SparseTrainer trainer, int[] order, double lr, int epoch, Listener listener) {
            int n = order.length;
            lossSum = 0;
            correct = 0;
            for (int from = 0; from < n; from += batch) {
                int to = Math.min(n, from + batch);
                int total = 0;
                for (int k = from; k < to; k++) {
                    total += train.count(order[k]);
                }
                int[] ids = new int[total];
                int at = 0;
                for (int k = from; k < to; k++) {
                    int e = order[k];
                    System.arraycopy(train.rows(), train.starts()[e], ids, at, train.count(e));
                    at += train.count(e);
                }
                table.gather(ids, gathered, ReadMode.RELAXED); // this process is the table's only writer
                Arrays.fill(dW, 0f);
                Arrays.fill(db, 0f);
                float scale = 1f / (to - from); // the loss is the batch's mean
                at = 0;
                for (int k = from; k < to; k++) {
                    int e = order[k];
                    int count = train.count(e);
                    int target = train.labels()[e][0];
                    TextClassifier.mean(gathered, at, count, dim, h);
                    TextClassifier.softmax(weights, bias, labels, dim, h, probs);
                    if (TextClassifier.argmax(probs, labels) == target) {
                        correct++;
                    }
                    lossSum += TextClassifier.backward(weights, labels, dim, h, probs, count, target, scale, dW, db, dRow);
                    for (int r = 0; r < count; r++) {
                        System.arraycopy(dRow, 0, grads, (at + r) * dim, dim);
                    }
                    at += count;
                }
                // Rows used twice in the batch get their gradients summed by the trainer.
                trainer.step(ids, gradSegment);
                adamW.step(weights, dW, lr);
                adamB.step(bias, db, lr);
                done += to - from;
                listener.advanced(done, lossSum / to, epoch);
            }
        }
    }

    /** The share of examples whose most probable label is one of theirs. */
    private static double accuracy(EmbeddingStore table, Examples set, float[] weights, float[] bias, int labels, int dim) {
        float[] gathered = new float[0];
        float[] h = new float[dim];
        float[] probs = new float[labels];
        int correct = 0;
        for (int i = 0; i < set.size(); i++) {
            int count = set.count(i);
            int[] ids = Arrays.copyOfRange(set.rows(), set.starts()[i], set.starts()[i + 1]);
            if (gathered.length < count * dim) {
                gathered = new float[Math.max(count * dim, gathered.length * 2)];
            }
            table.gather(ids, gathered, ReadMode.RELAXED);
            TextClassifier.mean(gathered, 0, count, dim, h);
            TextClassifier.softmax(weights, bias, labels, dim, h, probs);
            int predicted = TextClassifier.argmax(probs, labels);
            for (int l : set.labels()[i]) {
                if (l == predicted) {
                    correct++;
                    break;
                }
            }
        }
        return (double) correct / set.size();
    }

    /** Fisher-Yates with the run's seeded generator: the same seed gives the same order on every JVM. */
    private static void shuffle(int[] a, Random random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** Labels that are some line's first label, most frequent first (ties in order of first appearance), as fastText. */
    static List<String> labelsByFrequency(List<Tokenizer.Line> lines) {
        Object2IntHashMap<String> counts = new Object2IntHashMap<>(16, 0.6f, 0);
        List<String> labels = new ArrayList<>();
        for (Tokenizer.Line line : lines) {
            String l = line.labels().get(0);
            int c = counts.getValue(l);
            if (c == 0) {
                labels.add(l);
            }
            counts.put(l, c + 1);
        }
        labels.sort(Comparator.comparingInt((String l) -> counts.getValue(l)).reversed());
        return labels;
    }

    /** Rows and label ids of each line; labels the training data never had as a first label are left out. */
    private static Examples examples(List<Tokenizer.Line> lines, Vocabulary vocabulary, Object2IntHashMap<String> labelIds,
                                     Settings s) {
        int[][] labels = new int[lines.size()][];
        int[] starts = new int[lines.size() + 1];
        org.agrona.collections.IntArrayList rows = new org.agrona.collections.IntArrayList();
        for (int i = 0; i < lines.size(); i++) {
            Tokenizer.Line line = lines.get(i);
            labels[i] = line.labels().stream().mapToInt(labelIds::getValue).filter(id -> id >= 0).toArray();
            if (labels[i].length == 0) {
                labels[i] = new int[] {-1}; // a held-out line whose label training never saw: always wrong
            }
            for (int r : TextClassifier.features(line.words(), vocabulary, s.ngrams(), s.buckets())) {
                rows.addInt(r);
            }
            starts[i + 1] = rows.size();
        }
        return new Examples(rows.toIntArray(), starts, labels);
    }

    /** Deletes the model directory this run was building; best effort, as it runs while failing. */
    private static void deleteTree(Path dir) {
        try {
            TempSibling.deleteTree(dir);
        } catch (IOException ignored) {
            // The original failure is what the user needs to see.
        }
    }

    /** Adam over a small dense parameter array on the heap (the output layer): torch.optim.Adam's update. */
    static final class DenseAdam {
        private final float[] m;
        private final float[] v;
        private long t;

        DenseAdam(int size) {
            this.m = new float[size];
            this.v = new float[size];
        }

        void step(float[] params, float[] grads, double lr) {
            t++;
            float step = (float) (lr * Math.sqrt(1 - Math.pow(0.999, t)) / (1 - Math.pow(0.9, t)));
            for (int i = 0; i < params.length; i++) {
                float g = grads[i];
                m[i] += 0.1f * (g - m[i]);
                v[i] += 0.001f * (g * g - v[i]);
                params[i] -= step * m[i] / ((float) Math.sqrt(v[i]) + 1e-8f);
            }
        }
    }
}
