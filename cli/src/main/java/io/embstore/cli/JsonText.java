package io.embstore.cli;

/**
 * JSON literals for the {@code --json} output, which is flat enough to be written directly: strings are escaped per
 * RFC 8259, numbers are Java's shortest round-tripping decimal (so a float read back is the same float).
 */
final class JsonText {
    private JsonText() {
    }

    /** {@code s} as a JSON string literal, quotes included. */
    static String string(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /**
     * {@code v} as a JSON number. JSON has no NaN or infinity, so those (which a store can hold if a writer put them
     * there) are written as the strings {@code "NaN"}, {@code "Infinity"} and {@code "-Infinity"}, as Jackson and
     * Python's {@code json} can be told to read them.
     */
    static String number(float v) {
        return Float.isFinite(v) ? Float.toString(v) : "\"" + v + "\"";
    }
}
