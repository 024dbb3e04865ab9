package io.embstore.benchmarks;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes synthetic vector files shaped like real ones, for benchmarks: values normal around 0 with sd 0.4, written
 * with 5 significant digits as GloVe's are ({@code -0.00066023}, {@code 0.24968}), words {@code w0, w1, ...}.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.VectorFileGenerator glove OUT ROWS DIM [SEED]
 * java -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.VectorFileGenerator word2vec OUT ROWS DIM [SEED]
 * java -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.VectorFileGenerator word2vec-binary OUT ROWS DIM [SEED]
 * </pre>
 * The same seed gives the same file.
 */
public final class VectorFileGenerator {
    private VectorFileGenerator() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 4) {
            System.err.println("usage: VectorFileGenerator glove|word2vec|word2vec-binary OUT ROWS DIM [SEED]");
            System.exit(2);
        }
        long rows = Long.parseLong(args[2]);
        int dim = Integer.parseInt(args[3]);
        long seed = args.length > 4 ? Long.parseLong(args[4]) : 1;
        write(args[0], Path.of(args[1]), rows, dim, seed);
    }

    /** Writes the file; {@code format} is glove, word2vec or word2vec-binary. */
    public static void write(String format, Path out, long rows, int dim, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            boolean binary = format.equals("word2vec-binary");
            if (!format.equals("glove")) {
                os.write((rows + " " + dim + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            byte[] line = new byte[64 + dim * 16];
            ByteBuffer floats = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (long r = 0; r < rows; r++) {
                int n = 0;
                byte[] word = ("w" + r).getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(word, 0, line, 0, word.length);
                n += word.length;
                if (binary) {
                    line[n++] = ' ';
                    os.write(line, 0, n);
                    floats.clear();
                    for (int i = 0; i < dim; i++) {
                        floats.putFloat(Float.parseFloat(fiveDigits(random.nextGaussian() * 0.4)));
                    }
                    os.write(floats.array());
                    os.write('\n');
                } else {
                    for (int i = 0; i < dim; i++) {
                        line[n++] = ' ';
                        n = appendFiveDigits(line, n, random.nextGaussian() * 0.4);
                    }
                    line[n++] = '\n';
                    os.write(line, 0, n);
                }
            }
        }
    }

    private static String fiveDigits(double x) {
        byte[] b = new byte[32];
        int n = appendFiveDigits(b, 0, x);
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }

    /** Appends {@code x} with 5 significant digits in plain notation, trailing zeros dropped, as GloVe writes. */
    static int appendFiveDigits(byte[] out, int n, double x) {
        if (x == 0) {
            out[n++] = '0';
            return n;
        }
        if (x < 0) {
            out[n++] = '-';
            x = -x;
        }
        int exponent = (int) Math.floor(Math.log10(x));
        long digits = Math.round(x * Math.pow(10, 4 - exponent));
        if (digits >= 100000) {
            digits /= 10;
            exponent++;
        }
        // digits has 5 digits d0..d4 and the value is d0.d1d2d3d4 x 10^exponent
        char[] d = Long.toString(digits).toCharArray();
        int last = 4;
        while (last > 0 && d[last] == '0') {
            last--;
        }
        if (exponent >= 0) {
            for (int i = 0; i <= Math.max(exponent, last); i++) {
                if (i == exponent + 1) {
                    out[n++] = '.';
                }
                out[n++] = (byte) (i < 5 ? d[i] : '0');
            }
        } else {
            out[n++] = '0';
            out[n++] = '.';
            for (int i = 0; i < -exponent - 1; i++) {
                out[n++] = '0';
            }
            for (int i = 0; i <= last; i++) {
                out[n++] = (byte) d[i];
            }
        }
        return n;
    }
}
