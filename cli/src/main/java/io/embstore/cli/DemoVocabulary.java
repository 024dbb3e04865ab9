package io.embstore.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The demo's vocabulary: common English words first, then made-up words built from syllables, so that the demo needs
 * no file. Deterministic: the same size always gives the same words in the same order.
 */
final class DemoVocabulary {
    /** The words the demo looks up, all among the first rows. */
    static final String KING = "king";
    static final String QUEEN = "queen";
    static final String PARIS = "paris";
    /** The word the demo's writer appends: never one of the generated words. */
    static final String NEW_WORD = "embstore";

    private static final String[] COMMON = {
            "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
            "not", "he", "i", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
            "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when",
            "will", "would", "who", "so", "no", "king", "queen", "man", "woman", "prince", "princess", "boy", "girl",
            "father", "mother", "son", "daughter", "brother", "sister", "paris", "france", "berlin", "germany", "rome",
            "italy", "madrid", "spain", "london", "england", "tokyo", "japan", "athens", "greece", "cairo", "egypt",
            "city", "country", "river", "mountain", "sea", "island", "forest", "desert", "north", "south", "east",
            "west", "day", "night", "morning", "evening", "year", "month", "week", "hour", "minute", "second",
            "water", "fire", "earth", "air", "stone", "tree", "flower", "grass", "leaf", "seed", "dog", "cat",
            "horse", "cow", "bird", "fish", "lion", "tiger", "wolf", "bear", "red", "green", "blue", "yellow",
            "black", "white", "big", "small", "long", "short", "old", "new", "good", "bad", "happy", "sad", "fast",
            "slow", "hot", "cold", "walk", "run", "swim", "fly", "read", "write", "speak", "listen", "think", "know",
            "book", "word", "language", "number", "table", "vector", "memory", "file", "computer", "network",
            "music", "song", "film", "game", "school", "teacher", "student", "doctor", "house", "door", "window",
            "road", "car", "train", "ship", "money", "bank", "market", "price", "work", "love", "war", "peace"};

    private static final String[] ONSETS = {
            "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "ch", "dr", "gr",
            "pl", "st", "tr", "th"};
    private static final String[] NUCLEI = {"a", "e", "i", "o", "u", "ai", "ea", "ou"};
    private static final String[] CODAS = {"", "", "", "n", "r", "l", "s", "t", "m", "nd", "st"};

    private DemoVocabulary() {
    }

    /** {@code size} distinct words: the common ones, then generated ones. */
    static List<String> words(int size) {
        Set<String> words = new LinkedHashSet<>();
        for (String w : COMMON) {
            if (words.size() == size) {
                break;
            }
            words.add(w);
        }
        SplittableRandom random = new SplittableRandom(2026);
        while (words.size() < size) {
            int syllables = 2 + random.nextInt(2);
            StringBuilder w = new StringBuilder();
            for (int s = 0; s < syllables; s++) {
                w.append(ONSETS[random.nextInt(ONSETS.length)]).append(NUCLEI[random.nextInt(NUCLEI.length)]);
                if (s == syllables - 1 || random.nextInt(3) == 0) {
                    w.append(CODAS[random.nextInt(CODAS.length)]);
                }
            }
            if (!w.toString().equals(NEW_WORD)) {
                words.add(w.toString());
            }
        }
        return new ArrayList<>(words);
    }
}
