package io.embstore.tools;

/**
 * Benchmark-only door to the package-private {@link ShortestFloat}, as {@link FloatParserAccess} is to the parser:
 * the benchmark measures the formatter the exporter runs.
 */
public final class ShortestFloatAccess {
    /** The longest output of {@link #write}. */
    public static final int MAX_CHARS = ShortestFloat.MAX_CHARS;

    private ShortestFloatAccess() {
    }

    /** {@link ShortestFloat#write}: {@code v} as the exporter writes it, at {@code pos}; returns the end. */
    public static int write(float v, byte[] buf, int pos) {
        return ShortestFloat.write(v, buf, pos);
    }
}
