package io.embstore.server;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * Reused arrays for large .npy answers: a lookup gathers its rows into one and hands that same array to the socket, so an
 * answer costs neither a fresh 77 KB-1.2 MB allocation (zeroed by the JVM) nor Helidon's copy of a finished body.
 * Bounded twice: arrays above {@link #MAX_POOLED_BYTES} are never kept, and at most {@link #POOLED} are kept.
 */
final class AnswerBuffers {
    static final int MAX_POOLED_BYTES = 2 << 20;
    static final int POOLED = 16;

    private final ArrayBlockingQueue<byte[]> free = new ArrayBlockingQueue<>(POOLED);

    /** An array of at least {@code bytes}, with any content (the caller overwrites what it sends). */
    byte[] take(int bytes) {
        if (bytes > MAX_POOLED_BYTES) {
            return new byte[bytes];
        }
        byte[] b = free.poll();
        if (b != null && b.length >= bytes) {
            return b;
        }
        // Too small (a 64-word answer's array asked for 1024 words) or none free: the next power of two, so that
        // mixed answer sizes settle on arrays that fit them all.
        return new byte[Math.min(Integer.highestOneBit(Math.max(bytes, 4096) - 1) << 1, MAX_POOLED_BYTES)];
    }

    /** Gives {@code b} back once nothing reads it any more (the socket write returned). */
    void give(byte[] b) {
        if (b.length <= MAX_POOLED_BYTES) {
            free.offer(b);
        }
    }
}
