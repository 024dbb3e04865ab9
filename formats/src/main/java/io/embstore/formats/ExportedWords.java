package io.embstore.formats;

import io.embstore.store.EmbeddingStore;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.stream.LongStream;

/**
 * Which words each vector file format can carry so that {@code convert} reads back the very same word. Export checks
 * every word before it writes anything, and refuses a word the format would change, naming it and its row.
 *
 * <ul>
 *   <li>Text (word2vec, GloVe): a line is the word, then the values, separated by spaces; the reader takes the last
 *       {@code dim} fields as the vector and everything before them as the word, so inner spaces and tabs survive
 *       (GloVe 840B has such words). A word cannot be empty, hold a line break or another control character (a
 *       first row with one looks binary), start or end with a space or tab (the reader trims them), or be fields
 *       that are all numbers after its first (the reader takes them for extra values). GloVe has no header: the
 *       reader learns the dim by counting the numbers that end the first line, so the first row's word cannot end
 *       in a field that is a number either.</li>
 *   <li>word2vec binary: a word ends at the first space and newlines before it are skipped, so it cannot be empty,
 *       hold a space or start with a newline.</li>
 * </ul>
 */
final class ExportedWords {
    /** Rows checked per parallel task. */
    private static final int BLOCK = 4096;

    private ExportedWords() {
    }

    /**
     * Checks the word of every selected row.
     *
     * @throws IllegalArgumentException naming the first row (in export order) whose word the format cannot carry
     */
    static void check(EmbeddingStore store, RowSelection rows, VectorFormat format) {
        if (!store.hasVocabulary()) {
            return; // row ids as words: digits, which every format carries
        }
        long blocks = (rows.size() + BLOCK - 1) / BLOCK;
        Optional<String> problem = LongStream.range(0, blocks).parallel()
                .mapToObj(b -> firstProblem(store, rows, format, b * BLOCK, Math.min(rows.size(), (b + 1) * BLOCK)))
                .filter(p -> p != null)
                .findFirst();
        problem.ifPresent(p -> {
            throw new IllegalArgumentException(store.path() + ": " + p);
        });
    }

    private static String firstProblem(EmbeddingStore store, RowSelection rows, VectorFormat format,
                                       long from, long to) {
        for (long i = from; i < to; i++) {
            long row = rows.row(i);
            String word = store.word(row);
            String why = whyNot(format, word, i == 0);
            if (why != null) {
                return "row " + row + ": the word '" + PrintableText.line(word) + "' cannot be written as "
                        + format.label() + ": " + why;
            }
        }
        return null;
    }

    /**
     * Why {@code format} cannot carry {@code word} so that it reads back the same, or null when it can.
     *
     * @param first whether the word is the file's first (GloVe learns the dim from its line)
     */
    static String whyNot(VectorFormat format, String word, boolean first) {
        if (word.isEmpty()) {
            return "an empty word is not a word in a vector file";
        }
        boolean plain = true;
        for (int i = 0; i < word.length() && plain; i++) {
            char c = word.charAt(i);
            plain = c > ' ';
        }
        if (plain) {
            return null; // the common word: no blank, no control character
        }
        return format == VectorFormat.WORD2VEC_BINARY ? whyNotBinary(word) : whyNotText(format, word, first);
    }

    private static String whyNotBinary(String word) {
        if (word.indexOf(' ') >= 0) {
            return "there a word ends at its first space (the text formats, --format word2vec or glove, keep inner"
                    + " spaces)";
        }
        if (word.charAt(0) == '\n') {
            return "the reader skips newlines before a word";
        }
        return null;
    }

    private static String whyNotText(VectorFormat format, String word, boolean first) {
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            if (c == '\n' || c == '\r') {
                return "a line break would end the line";
            }
            if (c < ' ' && c != '\t') {
                return "a text vector file holds no control characters but tabs";
            }
        }
        if (isBlank(word.charAt(0)) || isBlank(word.charAt(word.length() - 1))) {
            return "a text line's word cannot start or end with a space or tab (the reader takes them for separators)";
        }
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        FloatParser parser = new FloatParser();
        int fields = 0;
        int numbers = 0;
        boolean lastIsNumber = false;
        for (int i = 0; i < utf8.length; ) {
            int end = i;
            while (end < utf8.length && !isBlank((char) utf8[end])) {
                end++;
            }
            if (fields > 0) {
                lastIsNumber = isNumber(parser, utf8, i, end);
                numbers += lastIsNumber ? 1 : 0;
            }
            fields++;
            i = end;
            while (i < utf8.length && isBlank((char) utf8[i])) {
                i++;
            }
        }
        if (fields > 1 && numbers == fields - 1) {
            return "its fields after the first are numbers, which the reader takes for values";
        }
        if (format == VectorFormat.GLOVE && first && lastIsNumber) {
            return "the first line of a GloVe file must end in exactly dim numbers (the reader counts them to learn"
                    + " the dim), and this word's last field is a number: put another row first (--words orders"
                    + " them), or use --format word2vec";
        }
        return null;
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    private static boolean isNumber(FloatParser parser, byte[] buf, int from, int to) {
        try {
            parser.parse(buf, from, to);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
