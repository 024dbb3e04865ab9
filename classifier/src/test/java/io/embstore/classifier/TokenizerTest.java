package io.embstore.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class TokenizerTest {
    @Test
    void labelsAnywhereWordsLowerCasedAnyWhiteSpace() {
        Tokenizer.Line line = Tokenizer.split("  __label__Pos\tA  Fine\u2003FILM __label__neg ,  ");
        assertEquals(List.of("__label__Pos", "__label__neg"), line.labels()); // labels keep their case
        assertEquals(List.of("a", "fine", "film", ","), line.words());
        assertEquals(List.of(), Tokenizer.split(" \t ").words());
        assertEquals(List.of("çà", "über"), Tokenizer.split("ÇÀ Über").words());
    }

    // Published FNV-1a 64 test vectors (the FNV authors' list), and one non-ASCII word checked with a separate Python
    // implementation: the hash reads UTF-8 bytes, not UTF-16 chars.
    @Test
    void wordHashIsFnv1a64OfUtf8() {
        assertEquals(0xcbf29ce484222325L, Tokenizer.wordHash(""));
        assertEquals(0xaf63dc4c8601ec8cL, Tokenizer.wordHash("a"));
        assertEquals(0x85944171f73967e8L, Tokenizer.wordHash("foobar"));
        assertEquals(0x48e8823acfa40d89L, Tokenizer.wordHash("café"));
    }

    /**
     * Buckets are part of a saved model: a model trained in one JVM must find the same buckets in another, in any
     * release. The expected values come from an independent Python implementation of the documented formula
     * (fmix64(31 * fnv1a(first) + fnv1a(second)) mod buckets, 64-bit wrap-around, unsigned modulo).
     */
    @Test
    void bigramBucketsAreStable() {
        assertEquals(1461719, bucket(2_000_000, "not", "good"));
        assertEquals(1967690, bucket(2_000_000, "good", "not"));
        assertEquals(849, bucket(1000, "a", "b"));
        assertEquals(81, bucket(1000, "b", "a"));
        assertEquals(914807, bucket(2_000_000, "très", "bien"));
        assertEquals(1176853, bucket(2_000_000, "not", "very", "good"));
    }

    @Test
    void forEachBucketVisitsEveryNgramUpToN() {
        List<String> words = List.of("not", "very", "good");
        long[] hashes = TextClassifier.wordHashes(words, new long[0]);
        List<Integer> seen = new ArrayList<>();
        TextClassifier.forEachBucket(hashes, words.size(), 3, 2_000_000, seen::add);
        assertEquals(List.of(bucket(2_000_000, "not", "very"), bucket(2_000_000, "not", "very", "good"),
                bucket(2_000_000, "very", "good")), seen);
        seen.clear();
        TextClassifier.forEachBucket(hashes, words.size(), 1, 2_000_000, seen::add);
        assertEquals(List.of(), seen);
    }

    @Test
    void bucketsSpreadEvenly() {
        int buckets = 101;
        int[] counts = new int[buckets];
        int n = 50_500;
        for (int i = 0; i < n; i++) {
            counts[bucket(buckets, "w" + i, "x" + (i % 7))]++;
        }
        // 500 expected per bucket; a Poisson count strays past +-150 (6.7 sigma) essentially never.
        for (int b = 0; b < buckets; b++) {
            assertTrue(Math.abs(counts[b] - 500) < 150, "bucket " + b + " got " + counts[b]);
        }
    }

    private static int bucket(int buckets, String... words) {
        long h = Tokenizer.wordHash(words[0]);
        for (int i = 1; i < words.length; i++) {
            h = Tokenizer.extend(h, Tokenizer.wordHash(words[i]));
        }
        return Tokenizer.bucket(h, buckets);
    }
}
