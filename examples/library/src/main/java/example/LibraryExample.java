package example;

import io.embstore.formats.ConversionSummary;
import io.embstore.formats.ConvertOptions;
import io.embstore.formats.ExportOptions;
import io.embstore.formats.RowSelection;
import io.embstore.formats.VectorFiles;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.Neighbor;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer;
import java.nio.file.Path;
import java.util.List;

/**
 * Creates an id-indexed table, writes and gathers rows, trains a few rows sparsely, finds a row's neighbours, then
 * exports two rows to a word2vec file and converts that file into a new store.
 * Run: java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp CLASSPATH example.LibraryExample DIR
 */
public final class LibraryExample {
    private LibraryExample() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]).resolve("items");
        int dim = 16;
        try (WritableStore table = EmbeddingStore.builder(dir).rows(1000).dim(dim).vocabulary(false)
                .init(Init.normal(42)).create()) {
            float[] ones = new float[dim];
            java.util.Arrays.fill(ones, 1f);
            table.write(7, ones);
            long appended = table.appendRow(ones);
            System.out.println("rows " + table.rows() + " appended " + appended);

            float[] batch = new float[2 * dim];
            table.gather(new int[] {7, (int) appended}, batch);
            System.out.println("gathered " + batch[0] + " " + batch[2 * dim - 1]);

            try (SparseTrainer trainer = SparseTrainer.attach(table, SparseTrainer.Options.adam().learningRate(0.1).build())) {
                long shipped = trainer.checkpoint();        // the generation a reader or a delta export has
                float[] grad = new float[2 * dim];
                java.util.Arrays.fill(grad, 1f);
                trainer.step(new int[] {7, 9}, grad);       // only rows 7 and 9 (and their Adam state) change
                trainer.checkpoint();
                System.out.println("changed since " + shipped + ": " + trainer.dirtySince(shipped));
            }
            float[] row = new float[dim];
            table.read(7, row);
            System.out.println("row 7 after one Adam step " + row[0]);
        }
        // A reader: any process may open the same directory, while a writer works.
        try (EmbeddingStore reader = EmbeddingStore.open(dir)) {
            float[] query = new float[reader.dim()];
            reader.read(1000, query);
            List<Neighbor> near = reader.mostSimilar(query, 2, java.util.Set.of());
            System.out.println("nearest to row 1000: " + near.get(0).row() + " " + near.get(1).row());

            Path vec = Path.of(args[0]).resolve("two.vec");
            VectorFiles.export(reader, vec, ExportOptions.builder().rows(RowSelection.of(new long[] {7, 1000})).build());
        }
        ConversionSummary back = VectorFiles.convert(Path.of(args[0]).resolve("two.vec"), Path.of(args[0]).resolve("two"),
                ConvertOptions.defaults());
        System.out.println("converted back " + back.rows() + " rows of " + back.dim());
    }
}
