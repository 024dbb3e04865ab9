package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.INVALID;
import static io.embstore.classifier.ClassifierException.Kind.NOT_FOUND;

import io.embstore.store.io.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.zip.CRC32C;

import io.embstore.store.EmbeddingStore;

/**
 * What a classifier keeps beside its embedding store: the labels, the output layer and the hyper-parameters, in the
 * text file {@value #FILE} (docs/CLASSIFIER.md describes it line by line). Floats are written with
 * {@link Float#toString}, which {@link Float#parseFloat} reads back bit for bit; the last line is a CRC-32C of every
 * byte before it, so a damaged or truncated file is refused instead of predicting garbage.
 *
 * <pre>
 * embstore-classifier 1
 * dim 100
 * ngrams 2
 * buckets 2000000
 * min_count 1
 * word_rows 18500        (rows 1..word_rows are words; row 0 is the unknown word)
 * bucket_rows 95000      (the rows after them are n-gram buckets seen in training)
 * epochs 5
 * lr 0.01
 * batch 16
 * seed 1
 * pretrained /data/cc.en.300      (these five only with train-classifier --pretrained)
 * pretrained_generation 3
 * pretrained_crc32c 0badf00d      (or none)
 * pretrained_words 17012
 * pretrained_frozen true
 * labels 2
 * label __label__pos BIAS W_0 ... W_dim-1
 * label __label__neg BIAS W_0 ... W_dim-1
 * crc32c 1a2b3c4d
 * </pre>
 */
public final class ClassifierModel {
    /** The model file inside the model directory (which is also the embedding store). */
    public static final String FILE = "classifier.txt";
    static final String MAGIC = "embstore-classifier";
    static final int VERSION = 1;
    /** The word of row 0, where every word outside the vocabulary goes. Tokens never contain spaces: no clash. */
    public static final String UNKNOWN_WORD = "<unknown word>";
    /** Rows of n-gram buckets are named {@code "<ngram bucket B>"}, again with a space no token has. */
    public static final String BUCKET_PREFIX = "<ngram bucket ";

    /** The training choices that prediction must repeat (dim, ngrams, buckets) and those kept for the record. */
    record Hyperparameters(int dim, int ngrams, int buckets, int minCount, int epochs, double lr, int batch, long seed) {
    }

    /**
     * Where the word rows started from, when they came from a pretrained store ({@code train-classifier --pretrained}).
     *
     * @param store          the store's directory, absolute
     * @param generation     its generation when it was read
     * @param matrixChecksum the CRC-32C of its matrix file as its {@code checksums.txt} recorded it, if it had one
     * @param words          how many of the model's words got their row from the store
     * @param frozen         whether those rows were kept fixed in training ({@code --freeze}) or fine-tuned
     * @param subwordWords   how many of the model's other words started from the store's n-gram rows (a store
     *                       converted from a fastText {@code .bin} model), as fastText builds an unknown word
     */
    public record Pretrained(String store, long generation, OptionalLong matrixChecksum, int words, boolean frozen,
                             int subwordWords) {
    }

    final Hyperparameters hyper;
    final List<String> labels;
    final int wordRows;
    final int bucketRows;
    /** labels x dim, row-major: the output layer's weights. */
    final float[] weights;
    /** One bias per label. */
    final float[] bias;
    /** Null when the rows started at random. */
    final Pretrained pretrained;

    ClassifierModel(Hyperparameters hyper, List<String> labels, int wordRows, int bucketRows, float[] weights, float[] bias,
                    Pretrained pretrained) {
        if (weights.length != labels.size() * hyper.dim() || bias.length != labels.size()) {
            throw new IllegalArgumentException("output layer of " + weights.length + " weights and " + bias.length
                    + " biases for " + labels.size() + " labels x dim " + hyper.dim());
        }
        this.hyper = hyper;
        this.labels = List.copyOf(labels);
        this.wordRows = wordRows;
        this.bucketRows = bucketRows;
        this.weights = weights;
        this.bias = bias;
        this.pretrained = pretrained;
    }

    public int dim() {
        return hyper.dim();
    }

    public int labelCount() {
        return labels.size();
    }

    /** The labels (without the {@code __label__} prefix), in the order of the output layer's rows; unmodifiable. */
    public List<String> labels() {
        return labels;
    }

    /** How many of the embedding table's rows are words. */
    public int wordRows() {
        return wordRows;
    }

    /** How many of the embedding table's rows are n-gram buckets (they follow the words). */
    public int bucketRows() {
        return bucketRows;
    }

    /** Where the word rows started from, when a pretrained store gave them. */
    public Optional<Pretrained> pretrained() {
        return Optional.ofNullable(pretrained);
    }

    static String bucketWord(int bucket) {
        return BUCKET_PREFIX + bucket + ">";
    }

    /** Writes {@value #FILE} into {@code dir} (through a temporary file and a rename, so it is whole or absent). */
    void write(Path dir) {
        StringBuilder s = new StringBuilder(64 + labels.size() * dim() * 14);
        s.append(MAGIC).append(' ').append(VERSION).append('\n');
        s.append("dim ").append(hyper.dim()).append('\n');
        s.append("ngrams ").append(hyper.ngrams()).append('\n');
        s.append("buckets ").append(hyper.buckets()).append('\n');
        s.append("min_count ").append(hyper.minCount()).append('\n');
        s.append("word_rows ").append(wordRows).append('\n');
        s.append("bucket_rows ").append(bucketRows).append('\n');
        s.append("epochs ").append(hyper.epochs()).append('\n');
        s.append("lr ").append(hyper.lr()).append('\n');
        s.append("batch ").append(hyper.batch()).append('\n');
        s.append("seed ").append(hyper.seed()).append('\n');
        if (pretrained != null) {
            s.append("pretrained ").append(escape(pretrained.store())).append('\n');
            s.append("pretrained_generation ").append(pretrained.generation()).append('\n');
            s.append("pretrained_crc32c ").append(pretrained.matrixChecksum().isPresent()
                    ? String.format(Locale.ROOT, "%08x", pretrained.matrixChecksum().getAsLong()) : "none").append('\n');
            s.append("pretrained_words ").append(pretrained.words()).append('\n');
            s.append("pretrained_frozen ").append(pretrained.frozen()).append('\n');
            if (pretrained.subwordWords() > 0) {
                s.append("pretrained_subword_words ").append(pretrained.subwordWords()).append('\n');
            }
        }
        s.append("labels ").append(labels.size()).append('\n');
        for (int l = 0; l < labels.size(); l++) {
            s.append("label ").append(labels.get(l)).append(' ').append(bias[l]);
            for (int j = 0; j < dim(); j++) {
                s.append(' ').append(weights[l * dim() + j]);
            }
            s.append('\n');
        }
        byte[] body = s.toString().getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        byte[] tail = String.format(Locale.ROOT, "crc32c %08x%n", crc.getValue()).getBytes(StandardCharsets.UTF_8);
        try {
            byte[] all = new byte[body.length + tail.length];
            System.arraycopy(body, 0, all, 0, body.length);
            System.arraycopy(tail, 0, all, body.length, tail.length);
            DurableFiles.replace(dir.resolve(FILE), all);
        } catch (IOException e) {
            throw new UncheckedIOException(dir.resolve(FILE) + ": cannot write the model file (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Reads {@value #FILE} from {@code dir}.
     *
     * @throws ClassifierException naming the file and line: not found or damaged
     */
    static ClassifierModel read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isDirectory(dir)) {
            throw new ClassifierException(NOT_FOUND, dir + ": no such model directory");
        }
        if (!Files.isRegularFile(file)) {
            throw new ClassifierException(NOT_FOUND, file + ": no model file (is " + dir
                    + " a model made by 'embstore train-classifier'?)");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw damaged(file, 0, "not UTF-8 text");
        }
        String[] lines = text.split("\n", -1);
        if (lines.length < 2 || !lines[lines.length - 1].isEmpty()) {
            throw damaged(file, lines.length, "truncated: no line end after the last line");
        }
        int last = lines.length - 2; // the crc32c line
        if (!lines[0].equals(MAGIC + " " + VERSION)) {
            throw damaged(file, 1, lines[0].startsWith(MAGIC + " ") ? "unsupported version '" + lines[0].substring(MAGIC.length() + 1)
                    + "', expected " + VERSION : "expected '" + MAGIC + " " + VERSION + "'");
        }
        String crcLine = lines[last];
        if (!crcLine.startsWith("crc32c ") || crcLine.length() != "crc32c ".length() + 8) {
            throw damaged(file, last + 1, "truncated: expected the closing 'crc32c XXXXXXXX' line");
        }
        int bodyBytes = text.substring(0, text.length() - crcLine.length() - 1).getBytes(StandardCharsets.UTF_8).length;
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bodyBytes);
        long expected;
        try {
            expected = HexFormat.fromHexDigits(crcLine, 7, crcLine.length()) & 0xffffffffL;
        } catch (IllegalArgumentException e) {
            throw damaged(file, last + 1, "expected 8 hex digits after crc32c");
        }
        if (crc.getValue() != expected) {
            throw damaged(file, last + 1, String.format(Locale.ROOT,
                    "checksum mismatch (file says %08x, contents give %08x): the file was changed or damaged", expected,
                    crc.getValue()));
        }
        Map<String, String> fields = new LinkedHashMap<>();
        int i = 1;
        for (; i < last && !lines[i].startsWith("label "); i++) {
            int sp = lines[i].indexOf(' ');
            if (sp <= 0) {
                throw damaged(file, i + 1, "expected 'name value'");
            }
            fields.put(lines[i].substring(0, sp), lines[i].substring(sp + 1));
        }
        int dim = intField(fields, "dim", file, 1, EmbeddingStore.MAX_DIM);
        int ngrams = intField(fields, "ngrams", file, 1, 5);
        int buckets = intField(fields, "buckets", file, 0, Integer.MAX_VALUE);
        int minCount = intField(fields, "min_count", file, 1, Integer.MAX_VALUE);
        int wordRows = intField(fields, "word_rows", file, 0, Integer.MAX_VALUE);
        int bucketRows = intField(fields, "bucket_rows", file, 0, Integer.MAX_VALUE);
        int epochs = intField(fields, "epochs", file, 0, Integer.MAX_VALUE);
        double lr = doubleField(fields, "lr", file);
        int batch = intField(fields, "batch", file, 1, Integer.MAX_VALUE);
        long seed = longField(fields, "seed", file);
        int labelCount = intField(fields, "labels", file, 1, Integer.MAX_VALUE);
        if (last - i != labelCount) {
            throw damaged(file, i + 1, "expected " + labelCount + " label lines, found " + (last - i));
        }
        List<String> labels = new ArrayList<>(labelCount);
        float[] weights = new float[labelCount * dim];
        float[] bias = new float[labelCount];
        for (int l = 0; l < labelCount; l++, i++) {
            String[] parts = lines[i].split(" ", -1);
            if (parts.length != dim + 3 || !parts[0].equals("label") || parts[1].isEmpty()) {
                throw damaged(file, i + 1, "expected 'label NAME BIAS' and " + dim + " weights");
            }
            labels.add(parts[1]);
            try {
                bias[l] = Float.parseFloat(parts[2]);
                for (int j = 0; j < dim; j++) {
                    weights[l * dim + j] = Float.parseFloat(parts[3 + j]);
                }
            } catch (NumberFormatException e) {
                throw damaged(file, i + 1, "expected numbers after the label: " + e.getMessage());
            }
        }
        Hyperparameters h = new Hyperparameters(dim, ngrams, buckets, minCount, epochs, lr, batch, seed);
        return new ClassifierModel(h, labels, wordRows, bucketRows, weights, bias, pretrained(fields, file, wordRows));
    }

    /** The optional pretrained_* lines (a model trained without --pretrained, or before it existed, has none). */
    private static Pretrained pretrained(Map<String, String> fields, Path file, int wordRows) {
        String store = fields.get("pretrained");
        if (store == null) {
            return null;
        }
        long generation = longField(fields, "pretrained_generation", file);
        String crc = field(fields, "pretrained_crc32c", file);
        OptionalLong checksum;
        try {
            checksum = crc.equals("none") ? OptionalLong.empty()
                    : OptionalLong.of(HexFormat.fromHexDigits(crc) & 0xffffffffL);
        } catch (IllegalArgumentException e) {
            throw damaged(file, 0, "expected 8 hex digits or 'none' after 'pretrained_crc32c', found '" + crc + "'");
        }
        if (crc.length() != 8 && checksum.isPresent()) {
            throw damaged(file, 0, "expected 8 hex digits or 'none' after 'pretrained_crc32c', found '" + crc + "'");
        }
        int words = intField(fields, "pretrained_words", file, 0, wordRows);
        String frozen = field(fields, "pretrained_frozen", file);
        if (!frozen.equals("true") && !frozen.equals("false")) {
            throw damaged(file, 0, "expected true or false after 'pretrained_frozen', found '" + frozen + "'");
        }
        int subwordWords = fields.containsKey("pretrained_subword_words")
                ? intField(fields, "pretrained_subword_words", file, 0, wordRows - words) : 0;
        return new Pretrained(unescape(store), generation, checksum, words, frozen.equals("true"), subwordWords);
    }

    /** A path on one line: backslash, line feed and carriage return escaped as in Java ({@code \\ \n \r}). */
    static String escape(String path) {
        return path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }

    static String unescape(String line) {
        StringBuilder s = new StringBuilder(line.length());
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                char next = line.charAt(++i);
                s.append(next == 'n' ? '\n' : next == 'r' ? '\r' : next);
            } else {
                s.append(c);
            }
        }
        return s.toString();
    }

    /**
     * The rows of the store in {@code dir} that word queries ({@code similar}, {@code analogy}) rank: in a model
     * directory, the unknown word's and the words' ({@code 1 + word_rows}), never the n-gram buckets after them (a
     * bucket is no answer to "which words are like great"); in any other store, every row.
     *
     * @throws ClassifierException if the directory has a model file that is damaged
     */
    public static long wordQueryRows(Path dir) {
        return Files.isRegularFile(dir.resolve(FILE)) ? 1L + read(dir).wordRows : Long.MAX_VALUE;
    }

    private static ClassifierException damaged(Path file, int line, String what) {
        return new ClassifierException(INVALID, file + (line > 0 ? ": line " + line : "") + ": damaged model file: "
                + what);
    }

    private static String field(Map<String, String> fields, String name, Path file) {
        String v = fields.get(name);
        if (v == null) {
            throw damaged(file, 0, "no '" + name + "' line");
        }
        return v;
    }

    private static int intField(Map<String, String> fields, String name, Path file, int min, int max) {
        int x = parsedField(fields, name, file, Integer::parseInt, "an integer");
        if (x < min || x > max) {
            throw damaged(file, 0, name + " " + x + " is outside [" + min + ", " + max + "]");
        }
        return x;
    }

    private static long longField(Map<String, String> fields, String name, Path file) {
        return parsedField(fields, name, file, Long::parseLong, "an integer");
    }

    private static double doubleField(Map<String, String> fields, String name, Path file) {
        return parsedField(fields, name, file, Double::parseDouble, "a number");
    }

    /** The field {@code name} parsed by {@code parse}; not {@code expected} (as a user reads it): a damaged file. */
    private static <T> T parsedField(Map<String, String> fields, String name, Path file, Function<String, T> parse,
                                     String expected) {
        String v = field(fields, name, file);
        try {
            return parse.apply(v);
        } catch (NumberFormatException e) {
            throw damaged(file, 0, "expected " + expected + " after '" + name + "', found '" + v + "'");
        }
    }
}
