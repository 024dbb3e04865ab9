import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The library's vector query with exclusions, which the CLI does not offer:
 * {@code Neighbors STORE K REQUEST}. REQUEST's first line is the query as hex float32 bits separated by spaces, each
 * further line an excluded word as hex of its UTF-8 bytes. Prints one line per neighbour:
 * {@code row <TAB> similarity's float32 bits in hex <TAB> word as hex of UTF-8}.
 */
public final class Neighbors {
    public static void main(String[] args) throws IOException {
        HexFormat hex = HexFormat.of();
        List<String> lines = Files.readAllLines(Path.of(args[2]), StandardCharsets.US_ASCII);
        String[] bits = lines.get(0).trim().split(" ");
        float[] query = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            query[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(bits[i], 16));
        }
        Set<String> exclude = new HashSet<>();
        for (String line : lines.subList(1, lines.size())) {
            exclude.add(new String(hex.parseHex(line), StandardCharsets.UTF_8));
        }
        try (EmbeddingStore store = EmbeddingStore.open(Path.of(args[0]))) {
            for (Neighbor n : store.mostSimilar(query, Integer.parseInt(args[1]), exclude)) {
                System.out.println(n.row() + "\t" + Integer.toHexString(Float.floatToRawIntBits(n.similarity())) + "\t"
                        + hex.formatHex(n.word().getBytes(StandardCharsets.UTF_8)));
            }
        }
    }
}
