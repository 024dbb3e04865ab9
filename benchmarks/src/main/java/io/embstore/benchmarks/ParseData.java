package io.embstore.benchmarks;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** The token set of {@link ParseBenchmark}: GloVe-shaped text, {@code w0 v v v ...\n}, values normal with sd 0.4. */
final class ParseData {
    private ParseData() {
    }

    /** {@code lines} lines of a word and {@code dim} 5-significant-digit values; the same seed gives the same bytes. */
    static byte[] glove(int lines, int dim, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream(lines * dim * 9);
        byte[] line = new byte[64 + dim * 16];
        for (int r = 0; r < lines; r++) {
            byte[] word = ("w" + r).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(word, 0, line, 0, word.length);
            int n = word.length;
            for (int i = 0; i < dim; i++) {
                line[n++] = ' ';
                n = VectorFileGenerator.appendFiveDigits(line, n, random.nextGaussian() * 0.4);
            }
            line[n++] = '\n';
            out.write(line, 0, n);
        }
        return out.toByteArray();
    }
}
