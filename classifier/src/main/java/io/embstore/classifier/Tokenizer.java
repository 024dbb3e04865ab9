package io.embstore.classifier;

import io.embstore.store.io.Murmur3;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How the classifier reads a line of fastText's supervised format: tokens are separated by whitespace, a token that
 * starts with {@value #LABEL_PREFIX} is a label (anywhere in the line, as fastText reads them), every other token is a
 * word, lower-cased. Word bigrams are hashed into buckets from the words' UTF-8 bytes, so a bigram's bucket does not
 * depend on the vocabulary and is the same at training and prediction time, in every JVM.
 */
public final class Tokenizer {
    /** fastText's label prefix. Labels keep their case; words are lower-cased. */
    public static final String LABEL_PREFIX = "__label__";

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Tokenizer() {
    }

    /** One line split into its labels (in order of appearance) and its lower-cased words. */
    public record Line(List<String> labels, List<String> words) {
    }

    /** Splits {@code line} on whitespace (Unicode white space, as {@link Character#isWhitespace}). */
    public static Line split(String line) {
        List<String> labels = new ArrayList<>(1);
        List<String> words = new ArrayList<>();
        int n = line.length();
        int i = 0;
        while (i < n) {
            while (i < n && Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            if (i > start) {
                String token = line.substring(start, i);
                if (token.startsWith(LABEL_PREFIX)) {
                    labels.add(token);
                } else {
                    words.add(token.toLowerCase(Locale.ROOT));
                }
            }
        }
        return new Line(labels, words);
    }

    /** 64-bit FNV-1a over the word's UTF-8 bytes: the per-word half of a bigram's hash. */
    static long wordHash(String word) {
        long h = FNV_OFFSET;
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        return h;
    }

    /**
     * The hash of an n-gram extended by one word: {@code 31 * prefix + next}, starting from the first word's
     * {@link #wordHash}. The multiplier keeps "a b" and "b a" apart.
     */
    static long extend(long prefix, long nextWordHash) {
        return 31 * prefix + nextWordHash;
    }

    /**
     * The bucket in {@code [0, buckets)} of an n-gram's hash: {@code fmix64(hash) mod buckets} (unsigned);
     * MurmurHash3's finaliser ({@link Murmur3#fmix64}) spreads the bits of the sum before the modulo. A bigram "a b" is
     * {@code bucket(extend(wordHash("a"), wordHash("b")), buckets)}.
     */
    static int bucket(long ngramHash, int buckets) {
        return (int) Long.remainderUnsigned(Murmur3.fmix64(ngramHash), buckets);
    }
}
