package io.embstore.store.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The finaliser the vocabulary index and the classifier's n-gram buckets hash with (moved from TokenizerTest). */
class Murmur3Test {
    @Test
    void fmix64IsMurmur3sFinaliser() {
        assertEquals(0xb456bcfc34c2cb2cL, Murmur3.fmix64(1));
        assertEquals(0L, Murmur3.fmix64(0));
    }
}
