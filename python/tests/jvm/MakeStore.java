import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Makes a store with the JVM library, for the Python tests: words the vector file formats cannot carry (spaces,
 * tabs, the empty word), f16, a padding row, no vocabulary; and appends rows to an existing one. Run with the
 * single-file source launcher:
 * {@code java -cp cli/target/embstore.jar MakeStore.java create DIR f32|f16|q8|q4 PADDING INPUT} or
 * {@code ... MakeStore.java append DIR INPUT}. Each INPUT line is the word's UTF-8 bytes in hex ({@code -} on every
 * line: a store without vocabulary), a tab, then the values, space-separated.
 */
public final class MakeStore {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        List<String> words = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        boolean vocabulary = true;
        for (String line : Files.readAllLines(Path.of(args[args.length - 1]), StandardCharsets.UTF_8)) {
            int tab = line.indexOf('\t');
            String hex = line.substring(0, tab);
            vocabulary = !hex.equals("-");
            words.add(new String(HexFormat.of().parseHex(hex.equals("-") ? "" : hex), StandardCharsets.UTF_8));
            String[] fields = line.substring(tab + 1).trim().split(" ");
            float[] v = new float[fields.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = Float.parseFloat(fields[i]);
            }
            vectors.add(v);
        }
        if (args[0].equals("append")) {
            try (WritableStore store = EmbeddingStore.openForWriting(dir)) {
                for (int i = 0; i < vectors.size(); i++) {
                    if (vocabulary) {
                        store.append(words.get(i), vectors.get(i));
                    } else {
                        store.appendRow(vectors.get(i));
                    }
                }
            }
            return;
        }
        Dtype dtype = Dtype.fromLabel(args[2]);
        long padding = Long.parseLong(args[3]);
        var builder = EmbeddingStore.builder(dir).dim(vectors.get(0).length).dtype(dtype).paddingIndex(padding)
                .rows(vectors.size()).vocabulary(vocabulary);
        if (vocabulary) {
            builder.words(words);
        }
        try (WritableStore store = builder.create()) {
            for (int row = 0; row < vectors.size(); row++) {
                if (row != padding) {
                    store.write(row, vectors.get(row));
                }
            }
            store.flush();
        }
    }
}
