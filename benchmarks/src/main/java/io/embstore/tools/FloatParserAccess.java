package io.embstore.tools;

/**
 * Benchmark-only door to the package-private {@link FloatParser}: the benchmarks module puts this class in the tools
 * package (a split package is fine on the class path and in the shaded jar), so the benchmarks measure the parser the
 * converter runs, not a copy of it.
 */
public final class FloatParserAccess {
    private final FloatParser parser = new FloatParser();

    /** {@link FloatParser#parseField}: the number at {@code from}, up to the next blank or {@code limit}. */
    public float parseField(byte[] buf, int from, int limit) {
        return parser.parseField(buf, from, limit);
    }

    /** Where the last {@link #parseField} stopped. */
    public int end() {
        return parser.end();
    }

    /** {@link FloatParser#parse}: the token {@code buf[from, to)}. */
    public float parse(byte[] buf, int from, int to) {
        return parser.parse(buf, from, to);
    }
}
