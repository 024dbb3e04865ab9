package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @TempDir
    Path tmp;

    /** Words "a", "b", "c", then 4 bucket rows, as a fastText conversion lays them out. */
    private Path subwordStore() {
        Path dir = tmp.resolve("ft");
        try (Draft draft = EmbeddingStore.builder(dir).dim(2).draft()) {
            draft.ensureCapacity(7);
            draft.ensureWordCapacity(7 * 40);
            for (int r = 0; r < 7; r++) {
                String word = r < 3 ? String.valueOf((char) ('a' + r)) : Subwords.bucketWord(r - 3);
                draft.putRow(r, new float[] {r, 1}, 0);
                draft.putWord(r, MemorySegment.ofArray(word.getBytes(StandardCharsets.UTF_8)));
            }
            draft.subwords(new SubwordLayout(1, 2, 4, 3));
            draft.commit(7, OnDuplicate.KEEP_FIRST, null);
        }
        return dir;
    }

    @Test
    void aCopyKeepsTheBucketsOnlyWithTheSourcesOwnWordsAndWhole() {
        try (EmbeddingStore source = EmbeddingStore.open(subwordStore())) {
            try (WritableStore copy = EmbeddingStore.builder(tmp.resolve("same")).init(Init.copyOf(source)).create()) {
                assertEquals(source.subwords().orElseThrow().layout(), copy.subwords().orElseThrow().layout());
            }
            // Words of the caller's own: rows 3.. are their words, not buckets.
            List<String> mine = List.of("p", "q", "r", "s", "t", "u", "v");
            try (WritableStore copy = EmbeddingStore.builder(tmp.resolve("mine")).words(mine)
                    .init(Init.copyOf(source)).create()) {
                assertFalse(copy.subwords().isPresent());
                assertEquals(4, copy.rowOf("t"), "a word in the source's bucket range is found");
            }
            // The words alone: no buckets to keep.
            try (WritableStore copy = EmbeddingStore.builder(tmp.resolve("words")).rows(3).init(Init.copyOf(source))
                    .create()) {
                assertFalse(copy.subwords().isPresent());
            }
            // Part of the buckets would turn their placeholder names into words: refused, nothing left.
            Path cut = tmp.resolve("cut");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> EmbeddingStore.builder(cut).rows(5).init(Init.copyOf(source)).create());
            assertTrue(e.getMessage().contains("n-gram bucket rows"), e.getMessage());
            assertFalse(Files.exists(cut));
        }
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
