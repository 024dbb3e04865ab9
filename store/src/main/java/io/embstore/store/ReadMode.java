package io.embstore.store;

/**
 * How a read treats a row that a writer may be changing at the same moment.
 */
public enum ReadMode {
    /** Checks the row's sequence counter and retries, so a row is never half old and half new. */
    CONSISTENT,
    /** Copies without the check: for training loops that own the table or do not care. */
    RELAXED
}
