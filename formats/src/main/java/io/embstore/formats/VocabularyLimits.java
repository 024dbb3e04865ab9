package io.embstore.formats;

/** Limits the store puts on words and rows, as the converters check them. */
final class VocabularyLimits {
    /** Longest word, in bytes of UTF-8 (the store's limit). */
    static final int MAX_WORD_BYTES = 1 << 16;
    /** Longest text line the streaming reader accepts. */
    static final int MAX_LINE_BYTES = 64 << 20;

    private VocabularyLimits() {
    }
}
