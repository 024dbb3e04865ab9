import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Init;
import io.embstore.store.WritableStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Creates a store through the library, for words the CLI cannot take (the empty word, words with a line break) and for
 * a padding row: {@code MakeStore DIR f32|f16 DIM PADDING_INDEX WORDS VALUES}.
 * WORDS holds one word a line as hex of its UTF-8 bytes (an empty line is the empty word), or is {@code -} for a store
 * without a vocabulary; VALUES holds rows x DIM little-endian float32 (rows = the words' count, or the file's size).
 * The padding row's values are not written: it reads as zeros.
 */
public final class MakeStore {
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Dtype dtype = args[1].equals("f16") ? Dtype.F16 : Dtype.F32;
        int dim = Integer.parseInt(args[2]);
        long padding = Long.parseLong(args[3]);
        ByteBuffer values = ByteBuffer.wrap(Files.readAllBytes(Path.of(args[5]))).order(ByteOrder.LITTLE_ENDIAN);
        long rows = values.capacity() / 4 / dim;
        var builder = EmbeddingStore.builder(dir).dim(dim).dtype(dtype).init(Init.zeros()).paddingIndex(padding);
        if (args[4].equals("-")) {
            builder.vocabulary(false).rows(rows);
        } else {
            List<String> words = new ArrayList<>();
            for (String hex : Files.readAllLines(Path.of(args[4]), StandardCharsets.US_ASCII)) {
                words.add(new String(HexFormat.of().parseHex(hex), StandardCharsets.UTF_8));
            }
            builder.words(words);
        }
        try (WritableStore store = builder.create()) {
            float[] row = new float[dim];
            for (long r = 0; r < rows; r++) {
                values.asFloatBuffer().get((int) (r * dim), row);
                if (r != padding) {
                    store.write(r, row);
                }
            }
            store.computeNorms();
            store.flush();
        }
    }
}
