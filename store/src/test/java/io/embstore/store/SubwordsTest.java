package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** fastText's n-grams and hash, on values worked out by hand (the oracle tests in cli compare with fastText itself). */
class SubwordsTest {
    @Test
    void hashSignExtendsBytesAsFastTextDoes() {
        assertEquals(0xe40c292c, Subwords.hash(bytes("a")), "FNV-1a 32 of 'a'");
        // Plain FNV-1a of "é" (C3 A9) is 0x1e9de8c1; fastText xors each byte sign-extended (0xFFFFFFC3 ...).
        assertEquals(0x3cfa68c1, Subwords.hash(bytes("é")));
    }

    @Test
    void ngramsCountCharactersNotBytes() {
        // "<é>" is 3 characters: one n-gram of 3, bucket 231 of 2000 (worked out with the sign-extended hash).
        assertArrayEquals(new long[] {231}, Subwords.ngramBuckets(bytes("é"), 3, 3, 2000));
        // The lone '<' and '>' are never n-grams: "ab" with n = 1 gives "a" and "b" only.
        assertEquals(2, Subwords.ngramBuckets(bytes("ab"), 1, 1, 2000).length);
        // "<ab>" with n = 3..6: "<ab", "<ab>", "ab>".
        assertEquals(3, Subwords.ngramBuckets(bytes("ab"), 3, 6, 2000).length);
        assertEquals(0, Subwords.ngramBuckets(bytes("</s>"), 3, 6, 2000).length, "fastText's end of sentence");
        // "<abcdefgh>" is 10 characters: one n-gram of 10 (the whole, as fastText counts it), none of 11.
        assertEquals(1, Subwords.ngramBuckets(bytes("abcdefgh"), 10, 12, 2000).length);
        assertEquals(0, Subwords.ngramBuckets(bytes("abcdefgh"), 11, 12, 2000).length);
    }

    @Test
    void layoutIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> new SubwordLayout(4, 3, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new SubwordLayout(0, 3, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new SubwordLayout(3, 6, 0, 5));
        SubwordLayout layout = new SubwordLayout(3, 6, 10, 5);
        assertEquals(false, layout.isBucketRow(4));
        assertEquals(true, layout.isBucketRow(5));
        assertEquals(true, layout.isBucketRow(14));
        assertEquals(false, layout.isBucketRow(15), "appended rows after the buckets are words");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
