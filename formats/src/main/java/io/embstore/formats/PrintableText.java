package io.embstore.formats;

/**
 * Text from a user's file made fit for one line of a terminal: an error that quotes a malformed line of a binary file
 * would otherwise send NUL bytes, escape sequences and carriage returns to the terminal, and a value of a megabyte.
 */
public final class PrintableText {
    /** Longest message kept whole; longer ones lose their middle, where a quoted excerpt is. */
    static final int MAX_MESSAGE = 300;
    /** What a cut message keeps of its end: the explanation after the excerpt. */
    private static final int KEPT_TAIL = 80;

    private PrintableText() {
    }

    /**
     * {@code text} with every character a terminal does not print as itself escaped: control characters as
     * {@code \xNN}, and invisible or unassigned code points (format characters such as bidi overrides, lone
     * surrogates, private use, line separators) as {@code \}{@code uNNNN}. A backslash stays as it is.
     */
    public static String escape(String text) {
        StringBuilder s = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
                s.append(String.format("\\x%02x", cp));
            } else if (invisible(cp)) {
                s.append(cp > 0xffff ? String.format("\\U%08x", cp) : String.format("\\u%04x", cp));
            } else {
                s.appendCodePoint(cp);
            }
        }
        return s.toString();
    }

    private static boolean invisible(int cp) {
        return switch (Character.getType(cp)) {
            case Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> true;
            default -> false;
        };
    }

    /** {@link #escape escaped}, and cut in the middle to {@link #MAX_MESSAGE} characters when longer. */
    static String line(String text) {
        String escaped = escape(text);
        if (escaped.length() <= MAX_MESSAGE) {
            return escaped;
        }
        int head = MAX_MESSAGE - KEPT_TAIL;
        if (Character.isHighSurrogate(escaped.charAt(head - 1))) {
            head--;
        }
        int tail = escaped.length() - KEPT_TAIL;
        if (Character.isLowSurrogate(escaped.charAt(tail))) {
            tail++;
        }
        return escaped.substring(0, head) + " [... " + (tail - head) + " characters cut ...] " + escaped.substring(tail);
    }
}
