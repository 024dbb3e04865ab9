package io.embstore.classifier;

import static io.embstore.classifier.ClassifierException.Kind.INVALID;

import io.embstore.formats.InputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads text a line at a time as strict UTF-8, so that a byte that is not UTF-8 is reported with its exact line
 * (a {@code BufferedReader} fails wherever its buffer happened to end). LF or CRLF line ends; a UTF-8 byte order mark
 * before the first line is dropped.
 */
public final class LabeledLines {
    /** Receives each line, numbered from 1, without its line end. */
    @FunctionalInterface
    public interface Handler {
        void line(long number, String text);
    }

    private LabeledLines() {
    }

    /**
     * Reads {@code file}; errors name it.
     *
     * @throws InputException for a missing file
     * @throws ClassifierException for a line that is not UTF-8
     */
    public static void read(Path file, Handler handler) {
        if (!Files.isRegularFile(file)) {
            throw new InputException(file, null, Files.exists(file) ? "not a regular file" : "no such file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            read(in, file.toString(), handler);
        } catch (NoSuchFileException e) {
            throw new InputException(file, null, "no such file");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** Reads a stream (standard input, say); errors name it as {@code name}. */
    public static void read(InputStream in, String name, Handler handler) throws IOException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        byte[] buf = new byte[1 << 16];
        byte[] line = new byte[256];
        int len = 0;
        long number = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    line = append(line, len, buf, start, i - start);
                    len += i - start;
                    emit(decoder, line, len, ++number, name, handler);
                    len = 0;
                    start = i + 1;
                }
            }
            line = append(line, len, buf, start, n - start);
            len += n - start;
        }
        if (len > 0) {
            emit(decoder, line, len, ++number, name, handler);
        }
    }

    private static byte[] append(byte[] line, int len, byte[] src, int from, int count) {
        if (len + count > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, len + count));
        }
        System.arraycopy(src, from, line, len, count);
        return line;
    }

    private static void emit(CharsetDecoder decoder, byte[] line, int len, long number, String name, Handler handler) {
        int from = 0;
        if (number == 1 && len >= 3 && (line[0] & 0xff) == 0xEF && (line[1] & 0xff) == 0xBB && (line[2] & 0xff) == 0xBF) {
            from = 3;
        }
        if (len > from && line[len - 1] == '\r') {
            len--;
        }
        String text;
        try {
            CharBuffer chars = decoder.reset().decode(ByteBuffer.wrap(line, from, len - from));
            text = chars.toString();
        } catch (CharacterCodingException e) {
            throw new ClassifierException(INVALID, name + ": line " + number
                    + ": not UTF-8 text (expected UTF-8)");
        }
        handler.line(number, text);
    }
}
