package io.embstore.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import io.embstore.testkit.Seeds;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damaged, truncated, crafted and foreign {@code ann.index} files: each must give a {@link StoreException} naming the
 * file and what is wrong, never an index error, a fault or a wrong answer. Ends with a seeded corruption fuzz test
 * (replay with {@code EMBSTORE_SEED=N}), the index's counterpart of the store's in StoreCorruptionTest.
 */
class AnnIndexCorruptionTest {
    private static final int ROWS = 300;

    @TempDir
    Path tmp;

    private Path dir;
    private Path file;
    private byte[] good;

    @BeforeEach
    void buildOne() throws IOException {
        dir = tmp.resolve("t");
        ClusteredTable.create(dir, ROWS, Dtype.F32, 11);
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1).withM(8), null).close();
        }
        file = dir.resolve(AnnFile.NAME);
        good = Files.readAllBytes(file);
    }

    /** Opening (and querying) fails with a CORRUPT StoreException naming the file and saying each of {@code what}. */
    private StoreException openFails(String... what) {
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> {
                try (AnnIndex index = AnnIndex.open(store)) {
                    index.mostSimilar("w1", 10, 50);
                }
            });
            assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage());
            assertEquals(file, e.path(), e.getMessage());
            assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
            for (String w : what) {
                assertTrue(e.getMessage().contains(w), "'" + w + "' in: " + e.getMessage());
            }
            return e;
        }
    }

    private void write(byte[] bytes) throws IOException {
        Files.write(file, bytes);
    }

    /** {@code bytes} with both CRCs made right again: damage that only the structural checks can catch. */
    private static byte[] resealed(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C body = new CRC32C();
        body.update(bytes, AnnFile.HEADER_BYTES, bytes.length - AnnFile.HEADER_BYTES);
        b.putInt((int) AnnFile.BODY_CRC_AT, (int) body.getValue());
        CRC32C header = new CRC32C();
        header.update(bytes, 0, (int) AnnFile.HEADER_CRC_AT);
        b.putInt((int) AnnFile.HEADER_CRC_AT, (int) header.getValue());
        return bytes;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 7, 127, 128, 1000, -1})
    void aTruncatedFileIsReported(int length) throws IOException {
        write(Arrays.copyOf(good, length < 0 ? good.length + length : length));
        openFails("truncated");
    }

    @Test
    void trailingBytesAreReported() throws IOException {
        write(Arrays.copyOf(good, good.length + 4));
        openFails("trailing bytes");
    }

    @Test
    void aFileThatIsNotAnIndexIsReported() throws IOException {
        write("not an index, just text. ".repeat(10).getBytes(StandardCharsets.US_ASCII));
        openFails("not an embstore index");
    }

    @Test
    void aDamagedHeaderOrBodyFailsItsChecksum() throws IOException {
        byte[] header = good.clone();
        header[(int) AnnFile.ROWS_AT] ^= 1;
        write(header);
        openFails("header checksum");
        byte[] body = good.clone();
        body[body.length - 3] ^= 0x10;
        write(body);
        openFails("checksum mismatch", "graph");
    }

    @Test
    void anotherFormatVersionIsReported() throws IOException {
        byte[] b = good.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt((int) AnnFile.VERSION_AT, 99);
        write(resealed(b));
        openFails("version 99");
    }

    @Test
    void anInconsistentHeaderIsReportedEvenWithRightChecksums() throws IOException {
        byte[] b = good.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt((int) AnnFile.DEGREE_AT, 9);
        write(resealed(b));
        openFails("inconsistent header");
        byte[] entry = good.clone();
        ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN).putInt((int) AnnFile.ENTRY_AT, ROWS);
        write(resealed(entry));
        openFails("inconsistent header", "entry " + ROWS);
    }

    @Test
    void aCraftedNeighbourOutsideTheGraphIsReportedWhenReached() throws IOException {
        ByteBuffer b = ByteBuffer.wrap(good.clone()).order(ByteOrder.LITTLE_ENDIAN);
        long adjacency = b.getLong((int) AnnFile.ADJACENCY_OFFSET_AT);
        int degree = b.getInt((int) AnnFile.DEGREE_AT);
        // Every list's first neighbour points past the graph: the first list the walk reads is then refused.
        for (int node = 0; node < ROWS; node++) {
            b.putInt((int) (adjacency + (long) node * (1 + degree) * Integer.BYTES + Integer.BYTES), ROWS + 5);
        }
        write(resealed(b.array()));
        openFails("names neighbour " + (ROWS + 5));
        ByteBuffer count = ByteBuffer.wrap(good.clone()).order(ByteOrder.LITTLE_ENDIAN);
        for (int node = 0; node < ROWS; node++) {
            count.putInt((int) (adjacency + (long) node * (1 + degree) * Integer.BYTES), degree + 1);
        }
        write(resealed(count.array()));
        openFails("neighbours, more than the " + degree + " slots");
    }

    @Test
    void anIndexOfAnotherStoreIsRefused() throws IOException {
        // Same shape, other rows: only the sampled rows tell.
        Path other = tmp.resolve("other");
        ClusteredTable.create(other, ROWS, Dtype.F32, 12);
        try (EmbeddingStore store = EmbeddingStore.open(other)) {
            AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1), null).close();
        }
        Files.copy(other.resolve(AnnFile.NAME), file, StandardCopyOption.REPLACE_EXISTING);
        openFails("belongs to another store", "is not the row it was built from");
        // More rows than this store has.
        Path bigger = tmp.resolve("bigger");
        ClusteredTable.create(bigger, ROWS + 1, Dtype.F32, 11);
        try (EmbeddingStore store = EmbeddingStore.open(bigger)) {
            AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1), null).close();
        }
        Files.copy(bigger.resolve(AnnFile.NAME), file, StandardCopyOption.REPLACE_EXISTING);
        openFails("belongs to another store", "covers " + (ROWS + 1) + " rows, the store has " + ROWS);
        // Another dtype.
        Path f16 = tmp.resolve("f16");
        ClusteredTable.create(f16, ROWS, Dtype.F16, 11);
        try (EmbeddingStore store = EmbeddingStore.open(f16)) {
            AnnIndex.build(store, AnnIndexOptions.defaults().withThreads(1), null).close();
        }
        Files.copy(f16.resolve(AnnFile.NAME), file, StandardCopyOption.REPLACE_EXISTING);
        openFails("belongs to another store", "f16", "f32");
    }

    // ------------------------------------------------------------------------------------------------ fuzz

    private static final int FUZZ_ITERATIONS = 300;

    @Test
    void fuzzedFilesGiveStoreExceptionsNamingTheFile() throws IOException {
        long seed = Seeds.seed("AnnIndexCorruptionTest fuzz");
        SplittableRandom random = new SplittableRandom(seed);
        int unchanged = 0;
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            for (int iteration = 0; iteration < FUZZ_ITERATIONS; iteration++) {
                byte[] b = good.clone();
                String what;
                switch (random.nextInt(4)) {
                    case 0 -> {
                        int at = random.nextInt(b.length);
                        b[at] ^= (byte) (1 + random.nextInt(255));
                        what = "flip at " + at;
                    }
                    case 1 -> {
                        int at = random.nextInt(b.length);
                        int n = 1 + random.nextInt(Math.min(64, b.length - at));
                        for (int i = 0; i < n; i++) {
                            b[at + i] = (byte) random.nextInt(256);
                        }
                        what = n + " random bytes at " + at;
                    }
                    case 2 -> {
                        int length = random.nextInt(b.length);
                        b = Arrays.copyOf(b, length);
                        what = "cut to " + length;
                    }
                    default -> {
                        // Damage past the checksums: the structure alone must hold.
                        int at = AnnFile.HEADER_BYTES + random.nextInt(b.length - AnnFile.HEADER_BYTES);
                        b[at] ^= (byte) (1 + random.nextInt(255));
                        b = resealed(b);
                        what = "resealed flip at " + at;
                    }
                }
                write(b);
                String replay = " (iteration " + iteration + ": " + what + ", seed=" + seed + ")";
                try (AnnIndex index = AnnIndex.open(store)) {
                    // Opened: the damage was invisible (a resealed byte the checks cannot tell from a real one, or
                    // random bytes equal to the old ones); every query must still answer sanely or be refused.
                    for (int q = 0; q < 20; q++) {
                        assertEquals(10, index.mostSimilar("w" + q, 10, 30).size(), replay);
                    }
                    unchanged++;
                } catch (StoreException e) {
                    assertEquals(file, e.path(), e.getMessage() + replay);
                    assertEquals(StoreException.Kind.CORRUPT, e.kind(), e.getMessage() + replay);
                }
            }
        }
        System.out.println("AnnIndexCorruptionTest fuzz: " + FUZZ_ITERATIONS + " iterations, " + unchanged
                + " opened and answered, the rest refused");
    }
}
