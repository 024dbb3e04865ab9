package io.embstore.formats;

/**
 * Told how far a conversion or an export has got: called from any of its threads, often (every few thousand rows),
 * so an implementation must be thread-safe and cheap. The CLI's progress bar is one.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Ignores progress. */
    ProgressListener NONE = (bytes, rows) -> { };

    /**
     * {@code bytes} more bytes were read (a conversion's input) or formatted (an export's text), and {@code rows} more
     * rows were done.
     */
    void advance(long bytes, long rows);
}
