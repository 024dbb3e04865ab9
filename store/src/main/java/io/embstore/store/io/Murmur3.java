package io.embstore.store.io;

/** MurmurHash3's 64-bit finaliser, shared by the vocabulary index's word hash and the classifier's n-gram buckets. */
public final class Murmur3 {
    private Murmur3() {
    }

    /** MurmurHash3's {@code fmix64}: every input bit affects every output bit; 0 maps to 0. */
    public static long fmix64(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
