package io.embstore.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.embstore.testkit.JavaChild;
import io.embstore.testkit.Seeds;
import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damaged, truncated, mismatched and crafted store directories: every one must give a {@link StoreException} naming the
 * file and what is wrong, never an {@link IndexOutOfBoundsException}, an {@link InternalError} or a crash. Ends with a
 * seeded corruption fuzz test (replay with {@code EMBSTORE_SEED=N}).
 */
class StoreCorruptionTest {
    private static final int DIM = 5;
    private static final List<String> WORDS = words(40);
    private static final List<String> FILES = List.of(Manifest.FILE, EmbeddingStore.MATRIX_FILE, RowSeqlock.FILE,
            VocabularyIndex.WORDS_FILE, VocabularyIndex.OFFSETS_FILE, VocabularyIndex.INDEX_FILE, EmbeddingStore.CONTROL_FILE);

    @TempDir
    Path tmp;

    static List<String> words(int n) {
        List<String> w = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            w.add(i % 5 == 0 ? "wörd-" + i : i % 7 == 0 ? "語-" + i : "w" + i);
        }
        return w;
    }

    /** A valid store of {@link #WORDS} x {@link #DIM}; each file exactly as large as its content. */
    private Path store(String name, Dtype dtype) {
        Path dir = tmp.resolve(name);
        EmbeddingStore.builder(dir).words(WORDS).dim(DIM).dtype(dtype).init(Init.uniform(-1, 1, 7)).create().close();
        return dir;
    }

    private Path store(String name) {
        return store(name, Dtype.F32);
    }

    private static StoreException openFails(Path dir) {
        return assertThrows(StoreException.class, () -> EmbeddingStore.open(dir).close());
    }

    /** The message names {@code file} (as {@link StoreException#path()} does) and says each of {@code what}. */
    private static void assertNames(StoreException e, Path file, String... what) {
        assertEquals(file, e.path(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "message must name " + file + ": " + e.getMessage());
        for (String w : what) {
            assertTrue(e.getMessage().contains(w), "message must say '" + w + "': " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------------ not a store

    @Test
    void directoryWithoutManifestIsNotAStore() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        Files.writeString(dir.resolve("matrix.npy"), "not really");
        assertNames(openFails(dir), dir, "not an embstore store", "manifest.txt");
        assertNames(assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir).close()), dir,
                "not an embstore store");
    }

    @Test
    void regularFileIsNotAStore() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "hello");
        assertNames(openFails(file), file, "not a directory");
    }

    @Test
    void missingPathIsReported() {
        Path missing = tmp.resolve("no").resolve("such");
        assertNames(openFails(missing), missing, "no such store directory");
        assertNames(assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(missing).close()), missing,
                "no such store directory");
    }

    @ParameterizedTest
    @ValueSource(strings = {"rows.seq", "vocab.words", "vocab.offsets", "vocab.index", "control.bin", "matrix.npy"})
    void missingFileIsReported(String name) throws IOException {
        Path dir = store("s");
        Files.delete(dir.resolve(name));
        assertNames(openFails(dir), dir.resolve(name), "missing file");
    }

    // ------------------------------------------------------------------------------------------------ truncation

    static Stream<Arguments> truncations() {
        List<Arguments> cases = new ArrayList<>();
        for (String file : FILES.subList(1, FILES.size())) {
            for (String cut : List.of("empty", "half", "one byte short")) {
                cases.add(Arguments.of(file, cut));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("truncations")
    void truncatedFileIsReportedAtOpen(String name, String cut) throws IOException {
        Path dir = store("s");
        Path file = dir.resolve(name);
        long size = Files.size(file);
        long length = switch (cut) {
            case "empty" -> 0;
            case "half" -> size / 2;
            default -> size - 1;
        };
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(length);
        }
        StoreException e = openFails(dir);
        assertNames(e, file, "truncated", length + " bytes");
        assertNames(assertThrows(StoreException.class, () -> EmbeddingStore.openForWriting(dir).close()), file, "truncated");
    }

    // ------------------------------------------------------------------------------------------------ manifest and header

    private static void editManifest(Path dir, String from, String to) throws IOException {
        Path file = dir.resolve(Manifest.FILE);
        String text = Files.readString(file);
        assertTrue(text.contains(from), text);
        Files.writeString(file, text.replace(from, to));
    }

    @Test
    void manifestDimSmallerThanTheFilesDisagreesWithTheNpyHeader() throws IOException {
        Path dir = store("s");
        editManifest(dir, "dim=5\n", "dim=4\n");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), ".npy header says f32 x 5", "manifest says f32 x 4");
    }

    @Test
    void manifestDimLargerThanTheFilesIsATruncatedMatrix() throws IOException {
        Path dir = store("s");
        editManifest(dir, "dim=5\n", "dim=6\n");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), "truncated", "expected at least " + (4096 + 40 * 6 * 4));
    }

    @Test
    void manifestDtypeQ4OnAQ8MatrixDisagreesWithTheNpyHeader() throws IOException {
        Path dir = store("s", Dtype.Q8);
        editManifest(dir, "dtype=q8\n", "dtype=q4\n");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), "q8 with 5 code bytes a row", "q4 x 5");
    }

    @Test
    void structuredNpyHeaderThatIsNotAQuantizedMatrixIsRefused() throws IOException {
        Path dir = store("s", Dtype.Q8);
        byte[] bytes = Files.readAllBytes(dir.resolve("matrix.npy"));
        String header = new String(bytes, 0, 4096, StandardCharsets.ISO_8859_1);
        String changed = header.replace("('q', '|u1', (5,))", "('q', '<i2', (5,))");
        assertTrue(!changed.equals(header), header);
        System.arraycopy(changed.getBytes(StandardCharsets.ISO_8859_1), 0, bytes, 0, 4096);
        Files.write(dir.resolve("matrix.npy"), bytes);
        assertNames(openFails(dir), dir.resolve("matrix.npy"), "is not a quantized matrix");
    }

    @Test
    void manifestDtypeF16OnAnF32MatrixDisagreesWithTheNpyHeader() throws IOException {
        Path dir = store("s");
        editManifest(dir, "dtype=f32\n", "dtype=f16\n");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), ".npy header says f32 x 5", "manifest says f16 x 5");
    }

    @Test
    void manifestDtypeF32OnAnF16MatrixIsATruncatedMatrix() throws IOException {
        Path dir = store("s", Dtype.F16);
        editManifest(dir, "dtype=f16\n", "dtype=f32\n");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), "truncated");
    }

    @Test
    void unknownDtypeInManifest() throws IOException {
        Path dir = store("s");
        editManifest(dir, "dtype=f32\n", "dtype=bf16\n");
        assertNames(openFails(dir), dir.resolve(Manifest.FILE), "dtype 'bf16' is unknown");
    }

    @ParameterizedTest
    @ValueSource(strings = {"2", "0", "999999999999"})
    void unknownFormatVersion(String version) throws IOException {
        Path dir = store("s");
        editManifest(dir, "format_version=1\n", "format_version=" + version + "\n");
        assertNames(openFails(dir), dir.resolve(Manifest.FILE), "format_version " + version);
    }

    @Test
    void manifestWithoutMagicLineOrKey() throws IOException {
        Path dir = store("s");
        editManifest(dir, "embstore-manifest\n", "some-other-tool\n");
        assertNames(openFails(dir), dir.resolve(Manifest.FILE), "line 1 must be 'embstore-manifest'", "some-other-tool");
        Path dir2 = store("s2");
        editManifest(dir2, "dim=5\n", "");
        assertNames(openFails(dir2), dir2.resolve(Manifest.FILE), "missing key 'dim'");
        Path dir3 = store("s3");
        editManifest(dir3, "dim=5\n", "dim=five\n");
        assertNames(openFails(dir3), dir3.resolve(Manifest.FILE), "dim must be an integer", "five");
    }

    @Test
    void manifestRowsBeyondTheLiveRowsOrPaddingOutside() throws IOException {
        Path dir = store("s");
        editManifest(dir, "rows=40\n", "rows=41\n");
        assertNames(openFails(dir), dir.resolve(Manifest.FILE), "rows=41", "only 40 live rows");
        Path dir2 = store("s2");
        editManifest(dir2, "padding_index=-1\n", "padding_index=40\n");
        assertNames(openFails(dir2), dir2.resolve(Manifest.FILE), "padding_index 40");
    }

    /** Replaces {@code from} by {@code to} (same length) in the 4096-byte .npy header. */
    private static void editNpyHeader(Path dir, String from, String to) throws IOException {
        assertEquals(from.length(), to.length());
        Path file = dir.resolve(EmbeddingStore.MATRIX_FILE);
        ByteBuffer header = ByteBuffer.allocate(NpyHeader.BYTES);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(header, 0);
            String text = new String(header.array(), StandardCharsets.ISO_8859_1);
            assertTrue(text.contains(from), text.strip());
            ch.write(ByteBuffer.wrap(text.replace(from, to).getBytes(StandardCharsets.ISO_8859_1)), 0);
        }
    }

    @Test
    void npyHeaderDimDisagreesWithTheManifest() throws IOException {
        Path dir = store("s");
        editNpyHeader(dir, "(40, 5)", "(40, 4)");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), ".npy header says f32 x 4", "manifest says f32 x 5");
    }

    @Test
    void npyHeaderDtypeDisagreesWithTheManifestOrIsUnsupported() throws IOException {
        Path dir = store("s");
        editNpyHeader(dir, "'<f4'", "'<f2'");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), ".npy header says f16 x 5", "manifest says f32 x 5");
        Path dir2 = store("s2");
        editNpyHeader(dir2, "'<f4'", "'<f8'");
        assertNames(openFails(dir2), dir2.resolve("matrix.npy"), "'<f8' is not supported");
        Path dir3 = store("s3");
        editNpyHeader(dir3, "'<f4'", "'>f4'");
        assertNames(openFails(dir3), dir3.resolve("matrix.npy"), "'>f4' is not supported");
    }

    @Test
    void npyHeaderFortranOrderRowsBeyondCapacityOrBadMagic() throws IOException {
        Path dir = store("s");
        editNpyHeader(dir, "False, 'shape': (40, 5), }", "True, 'shape': (40, 5), } ");
        assertNames(openFails(dir), dir.resolve("matrix.npy"), "Fortran order");
        Path dir2 = store("s2");
        editNpyHeader(dir2, "(40, 5)", "(41, 5)");
        assertNames(openFails(dir2), dir2.resolve("matrix.npy"), ".npy header says 41 rows", "hold 40");
        Path dir3 = store("s3");
        editNpyHeader(dir3, "NUMPY", "NUMPX");
        assertNames(openFails(dir3), dir3.resolve("matrix.npy"), "bad magic at byte 5");
        Path dir4 = store("s4");
        editNpyHeader(dir4, "'shape': (40, 5)", "'shape': [40, 5]");
        assertNames(openFails(dir4), dir4.resolve("matrix.npy"), "unreadable .npy header dictionary");
    }

    // ------------------------------------------------------------------------------------------------ control block

    private static void putLong(Path file, long at, long value) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(b, at);
        }
    }

    private static void putInt(Path file, long at, int value) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(b, at);
        }
    }

    private static long getLong(Path file, long at) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.read(b, at);
        }
        return b.getLong(0);
    }

    @Test
    void controlBlockMagicVersionAndCounts() throws IOException {
        Path dir = store("magic");
        Path control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        putLong(control, ControlBlock.MAGIC_OFFSET, 0x324c544353424d45L); // "EMBSCTL2"
        assertNames(openFails(dir), control, "bad control block magic");

        dir = store("version");
        control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        putInt(control, ControlBlock.VERSION_OFFSET, 2);
        assertNames(openFails(dir), control, "control block version 2 is not supported");

        dir = store("live");
        control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        putLong(control, ControlBlock.LIVE_ROWS_OFFSET, 41);
        assertNames(openFails(dir), control, "live_rows 41 is outside [0, capacity=40]");

        dir = store("capacity");
        control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        putLong(control, ControlBlock.CAPACITY_OFFSET, -3);
        assertNames(openFails(dir), control, "capacity -3");

        dir = store("wordbytes");
        control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        putLong(control, ControlBlock.WORD_BYTES_OFFSET, -1);
        assertNames(openFails(dir), control, "word_bytes -1 is negative");

        // Capacity larger than the files: caught before anything is mapped past the end of a file (that would be SIGBUS).
        dir = store("bigger");
        control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        putLong(control, ControlBlock.CAPACITY_OFFSET, 1000);
        assertNames(openFails(dir), dir.resolve("matrix.npy"), "truncated");
    }

    @Test
    void controlBlockThatIsNotOneAtAll() throws IOException {
        Path dir = store("s");
        Path control = dir.resolve(EmbeddingStore.CONTROL_FILE);
        Files.write(control, new byte[ControlBlock.BYTES]);
        assertNames(openFails(dir), control, "bad control block magic");
    }

    // ------------------------------------------------------------------------------------------------ vocabulary

    /** Offset in vocab.index of the slot that holds {@code word} of row {@code row}. */
    private static long slotOf(Path dir, String word, int row) throws IOException {
        Path index = dir.resolve(VocabularyIndex.INDEX_FILE);
        long slots = getLong(index, VocabularyIndex.SLOTS_OFFSET);
        long record = getLong(dir.resolve(VocabularyIndex.OFFSETS_FILE), (long) row * Long.BYTES);
        long h = VocabularyIndex.hash(word.getBytes(StandardCharsets.UTF_8));
        for (long i = h & (slots - 1), probes = 0; probes < slots; i = (i + 1) & (slots - 1), probes++) {
            long at = VocabularyIndex.HEADER_BYTES + i * Long.BYTES;
            long slot = getLong(index, at);
            assertTrue(slot != 0, "no slot for " + word);
            if ((slot & VocabularyIndex.OFFSET_MASK) - 1 == record) {
                assertEquals(h >>> VocabularyIndex.FINGERPRINT_SHIFT, slot >>> VocabularyIndex.FINGERPRINT_SHIFT);
                return at;
            }
        }
        throw new AssertionError("no slot for " + word);
    }

    /**
     * rowOf for every word and word for every row: {@code damagedWord} / {@code damagedRow} (-1 for none) must fail with
     * a StoreException naming {@code file} and saying {@code what}; every other one must still be right.
     */
    private static void checkVocabulary(EmbeddingStore s, int damagedWord, int damagedRow, Path file, String what) {
        for (int r = 0; r < WORDS.size(); r++) {
            String w = WORDS.get(r);
            if (r == damagedWord) {
                assertNames(assertThrows(StoreException.class, () -> s.rowOf(w), "rowOf " + w), file, what);
            } else {
                assertEquals(r, s.rowOf(w), w);
            }
            int row = r;
            if (r == damagedRow) {
                assertNames(assertThrows(StoreException.class, () -> s.word(row), "word " + row), file, what);
            } else {
                assertEquals(w, s.word(r));
            }
        }
        assertEquals(-1, s.rowOf("absent"));
    }

    @Test
    void indexSlotPointingOutsideTheWordsFile() throws IOException {
        Path dir = store("s");
        int row = 17;
        long at = slotOf(dir, WORDS.get(row), row);
        Path index = dir.resolve(VocabularyIndex.INDEX_FILE);
        long wordsSize = Files.size(dir.resolve(VocabularyIndex.WORDS_FILE));
        long slot = getLong(index, at);
        long outside = wordsSize + 1000;
        putLong(index, at, (slot & ~VocabularyIndex.OFFSET_MASK) | (outside + 1));
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            checkVocabulary(s, row, -1, index, "record offset " + outside + " outside vocab.words");
        }
        // The largest offset a slot can hold.
        putLong(index, at, (slot & ~VocabularyIndex.OFFSET_MASK) | VocabularyIndex.OFFSET_MASK);
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            checkVocabulary(s, row, -1, index, "outside vocab.words");
        }
    }

    /** A slot holding a word's fingerprint but offset bits 0 (no record: record offset -1) is damage, never "record -1". */
    @Test
    void indexSlotWithTheRightFingerprintAndNoOffset() throws IOException {
        Path dir = store("s");
        Path index = dir.resolve(VocabularyIndex.INDEX_FILE);
        for (int row : new int[] {0, 1, 17}) {
            long at = slotOf(dir, WORDS.get(row), row);
            long slot = getLong(index, at);
            putLong(index, at, slot & ~VocabularyIndex.OFFSET_MASK);
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                checkVocabulary(s, row, -1, index, "no record offset");
            }
            putLong(index, at, slot);
        }
    }

    /**
     * As above, for a word whose bytes equal what a record at offset -1 would hold: its length would be read from bytes
     * 3..6 of vocab.words and its word from byte 7 on. Reading its row at offset -1 must not be attempted.
     */
    @Test
    void indexSlotWithNoOffsetForAWordMatchingTheBytesBeforeTheFirstRecord() throws IOException {
        List<String> words = new ArrayList<>(List.of("a"));
        for (int i = 1; i < 60; i++) {
            words.add("w" + i);
        }
        Path dir = tmp.resolve("s");
        EmbeddingStore.builder(dir).words(words).dim(DIM).init(Init.zeros()).create().close();
        byte[] bytes = Files.readAllBytes(dir.resolve(VocabularyIndex.WORDS_FILE));
        // Record 0 is row 0 (00 00 00 00), length 1 (01 00 00 00), "a": the int at bytes 3..6 is 0x100.
        byte[] crafted = java.util.Arrays.copyOfRange(bytes, 7, 7 + 0x100);
        String word = new String(crafted, StandardCharsets.UTF_8);
        assertArrayEquals(crafted, word.getBytes(StandardCharsets.UTF_8));
        Path index = dir.resolve(VocabularyIndex.INDEX_FILE);
        long slots = getLong(index, VocabularyIndex.SLOTS_OFFSET);
        long h = VocabularyIndex.hash(crafted);
        long i = h & (slots - 1);
        while (getLong(index, VocabularyIndex.HEADER_BYTES + i * Long.BYTES) != 0) {
            i = (i + 1) & (slots - 1);
        }
        putLong(index, VocabularyIndex.HEADER_BYTES + i * Long.BYTES, h >>> VocabularyIndex.FINGERPRINT_SHIFT << VocabularyIndex.FINGERPRINT_SHIFT);
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            assertNames(assertThrows(StoreException.class, () -> s.rowOf(word)), index, "index slot " + i, "no record offset");
            for (int r = 0; r < words.size(); r++) {
                assertEquals(r, s.rowOf(words.get(r)));
                assertEquals(words.get(r), s.word(r));
            }
        }
    }

    @Test
    void indexHeaderDamage() throws IOException {
        Path dir = store("magic");
        Path index = dir.resolve(VocabularyIndex.INDEX_FILE);
        putLong(index, VocabularyIndex.MAGIC_OFFSET, 0);
        assertNames(openFails(dir), index, "bad index magic");

        dir = store("slots");
        index = dir.resolve(VocabularyIndex.INDEX_FILE);
        putLong(index, VocabularyIndex.SLOTS_OFFSET, 100);
        assertNames(openFails(dir), index, "slots=100");

        dir = store("more-slots");
        index = dir.resolve(VocabularyIndex.INDEX_FILE);
        putLong(index, VocabularyIndex.SLOTS_OFFSET, 1 << 20);
        assertNames(openFails(dir), index, "truncated index", "for 1048576 slots");
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, -8, 1_000_000, Long.MAX_VALUE, Long.MAX_VALUE - 7, Long.MIN_VALUE})
    void offsetsEntryPointingOutsideTheWordsFile(long offset) throws IOException {
        Path dir = store("s");
        int row = 23;
        putLong(dir.resolve(VocabularyIndex.OFFSETS_FILE), (long) row * Long.BYTES, offset);
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            checkVocabulary(s, -1, row, dir.resolve(VocabularyIndex.WORDS_FILE), "row " + row + " points to record offset " + offset);
        }
    }

    @Test
    void offsetsEntryPointingAtAnotherRowsRecord() throws IOException {
        Path dir = store("s");
        Path offsets = dir.resolve(VocabularyIndex.OFFSETS_FILE);
        putLong(offsets, 3L * Long.BYTES, getLong(offsets, 4L * Long.BYTES));
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            checkVocabulary(s, -1, 3, dir.resolve(VocabularyIndex.WORDS_FILE), "belongs to row 4, expected row 3");
        }
    }

    @Test
    void wordRecordLengthRunningPastTheEnd() throws IOException {
        Path dir = store("s");
        int row = 39;
        long record = getLong(dir.resolve(VocabularyIndex.OFFSETS_FILE), (long) row * Long.BYTES);
        Path words = dir.resolve(VocabularyIndex.WORDS_FILE);
        putInt(words, record + 4, 1000);
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            StoreException e = assertThrows(StoreException.class, () -> s.word(row));
            assertNames(e, words, "word record at offset " + record + " has length 1000");
            // The index still points at the record, but its length no longer matches the word: not found.
            assertEquals(-1, s.rowOf(WORDS.get(row)));
        }
    }

    // ------------------------------------------------------------------------------------------------ rows.seq

    /** Makes row {@code row}'s sequence counter odd, as a writer that died in the middle of the row would leave it. */
    private static void leaveRowHalfWritten(Path dir, long row, long writerPid) throws IOException {
        putInt(dir.resolve(RowSeqlock.FILE), row * Integer.BYTES, 7);
        putLong(dir.resolve(EmbeddingStore.CONTROL_FILE), ControlBlock.WRITER_PID_OFFSET, writerPid);
    }

    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder(JavaChild.java(), "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "java -version did not finish");
        assertTrue(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive).orElse(false) == false);
        return p.pid();
    }

    /** How long a reader waits for a live writer to finish a row (EmbeddingStore.ROW_WAIT_NANOS). */
    private static final Duration LIVE_WRITER_WAIT = Duration.ofSeconds(10);

    @Test
    void rowLeftHalfWrittenByAWriterThatIsGoneFailsPromptly() throws Exception {
        for (long pid : new long[] {0, deadPid()}) {
            Path dir = store("s" + pid);
            leaveRowHalfWritten(dir, 11, pid);
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                float[] row = new float[DIM];
                s.read(10, row);
                s.read(12, row);
                // "no longer running" is only said when the reader checked the writer; the bound is a liveness
                // bound, not a speed check: a reader that waited for the row instead would wait the whole live-writer
                // wait (10 s) or forever, a reader that checks takes milliseconds even on a loaded machine.
                StoreException e = assertTimeoutPreemptively(LIVE_WRITER_WAIT,
                        () -> assertThrows(StoreException.class, () -> s.read(11, row)));
                assertNames(e, dir, "row 11 was left half-written", "no longer running");
                e = assertTimeoutPreemptively(LIVE_WRITER_WAIT,
                        () -> assertThrows(StoreException.class, () -> s.gather(new int[] {3, 11}, new float[2 * DIM])));
                assertNames(e, dir, "row 11 was left half-written", "no longer running");
            }
            // The next writer keeps the row damaged (its content is unknown) until it is rewritten.
            try (WritableStore w = EmbeddingStore.openForWriting(dir)) {
                StoreException e = assertThrows(StoreException.class, () -> w.read(11, new float[DIM]));
                assertNames(e, dir, "row 11 is damaged");
                w.write(11, new float[DIM]);
            }
            try (EmbeddingStore s = EmbeddingStore.open(dir)) {
                s.read(11, new float[DIM]);
            }
        }
    }

    /**
     * A live writer descheduled for a while in the middle of a row is waited for (up to 10 s), not reported as
     * having been busy "for more than 10 s" after a millisecond.
     */
    @Test
    void rowUnderWriteByALiveWriterIsWaitedFor() throws Exception {
        Path dir = store("s");
        float[] newValues = {1.5f, 2.5f, 3.5f, 4.5f, 5.5f};
        leaveRowHalfWritten(dir, 11, ProcessHandle.current().pid());
        try (EmbeddingStore s = EmbeddingStore.open(dir)) {
            float[] row = new float[DIM];
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> s.read(11, row));
            // The writer "wakes up" 300 ms later and completes the row.
            Thread.sleep(300);
            if (reader.isDone()) {
                try {
                    reader.join();
                } catch (CompletionException e) {
                    throw new AssertionError("the read failed while a live writer was still writing the row", e.getCause());
                }
                fail("the read returned while the row was still odd");
            }
            ByteBuffer values = ByteBuffer.allocate(DIM * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : newValues) {
                values.putFloat(v);
            }
            try (FileChannel ch = FileChannel.open(dir.resolve("matrix.npy"), StandardOpenOption.WRITE)) {
                ch.write(values.flip(), NpyHeader.BYTES + 11L * DIM * Float.BYTES);
            }
            putInt(dir.resolve(RowSeqlock.FILE), 11L * Integer.BYTES, 8);
            // Not done after 300 ms (checked above) and holding the values written after that: the read waited for
            // the row to be complete. (A bound on the elapsed time could not fail: the 300 ms sleep is inside it.)
            reader.get(15, TimeUnit.SECONDS);
            assertArrayEquals(newValues, row);
        }
    }

    // ------------------------------------------------------------------------------------------------ fuzz

    /**
     * A fixed count, not a time budget: the same seed then replays exactly the same mutations, and a slow machine
     * runs the same test, only longer (about 2 s on an idle 2-core machine).
     */
    private static final int FUZZ_ITERATIONS = 500;

    /** What one fuzz iteration did to its copy, for the failure message. */
    private record Mutation(String file, String what) {
    }

    @Test
    void randomCorruptionGivesStoreExceptionOrValidResults() throws Exception {
        long seed = Seeds.seed("StoreCorruptionTest fuzz");
        List<Path> templates = new ArrayList<>();
        templates.add(store("template-f32"));
        templates.add(store("template-f16", Dtype.F16));
        templates.add(store("template-q8", Dtype.Q8));
        templates.add(store("template-q4", Dtype.Q4));
        Path grown = tmp.resolve("template-grown");
        try (WritableStore s = EmbeddingStore.builder(grown).words(WORDS).dim(DIM).init(Init.normal(3)).create()) {
            for (int i = 0; i < 5; i++) {
                s.append("appended-" + i, new float[] {i, i, i, i, i});
            }
            s.write(2, new float[] {9, 8, 7, 6, 5});
        }
        templates.add(grown);

        SplittableRandom random = new SplittableRandom(seed);
        int openedFine = 0;
        int refusedAtOpen = 0;
        int failedOnUse = 0;
        long start = System.nanoTime();
        int iteration = 0;
        for (; iteration < FUZZ_ITERATIONS; iteration++) {
            Path template = templates.get(random.nextInt(templates.size()));
            Path dir = tmp.resolve("fuzz-" + iteration);
            copy(template, dir);
            Mutation mutation = mutate(dir, random);
            String context = "seed=" + seed + " iteration=" + iteration + " template=" + template.getFileName()
                    + " mutation=" + mutation;
            int outcome;
            try {
                // A liveness bound (a damaged store must not make a reader loop forever), not a speed check: one
                // iteration takes a few milliseconds.
                outcome = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> exercise(dir), "hung: " + context);
            } catch (Throwable t) {
                throw new AssertionError("only StoreException may come out of a damaged store: " + context, t);
            }
            switch (outcome) {
                case 0 -> openedFine++;
                case 1 -> refusedAtOpen++;
                default -> failedOnUse++;
            }
            deleteRecursively(dir);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("fuzz: " + iteration + " iterations in " + millis + " ms: " + openedFine + " fine, "
                + refusedAtOpen + " refused at open, " + failedOnUse + " failed on use");
        assertTrue(openedFine > 0 && refusedAtOpen > 0 && failedOnUse > 0,
                "the fuzz test should see all three outcomes (seed=" + seed + ")");
    }

    /**
     * Opens the store and uses all of it. Returns 0 if everything worked, 1 if open refused it, 2 if some use gave a
     * StoreException. Any other exception escapes.
     */
    private static int exercise(Path dir) {
        EmbeddingStore s;
        try {
            s = EmbeddingStore.open(dir);
        } catch (StoreException e) {
            assertTrue(e.getMessage().contains(dir.toString()), "message must name the store or a file: " + e.getMessage());
            return 1;
        }
        int failures = 0;
        try (s) {
            long rows = s.rows();
            int dim = s.dim();
            float[] row = new float[dim];
            for (long r = 0; r < rows; r++) {
                long id = r;
                failures += storeFailure(() -> s.read(id, row));
                failures += storeFailure(() -> s.rowSegment(id).byteSize());
            }
            int n = (int) Math.min(rows, 4096);
            int[] ids = new int[n];
            long[] longIds = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = n - 1 - i;
                longIds[i] = i;
            }
            failures += storeFailure(() -> s.gather(ids, new float[n * dim]));
            failures += storeFailure(() -> s.gather(longIds, new float[n * dim]));
            if (s.hasVocabulary()) {
                for (long r = 0; r < rows; r++) {
                    long id = r;
                    failures += storeFailure(() -> s.word(id));
                }
                for (String w : WORDS) {
                    failures += storeFailure(() -> {
                        long r = s.rowOf(w);
                        assertTrue(r >= -1 && r < rows, "rowOf('" + w + "') = " + r + " outside [-1, " + rows + ")");
                    });
                }
                for (int i = 0; i < 5; i++) {
                    String w = "appended-" + i;
                    failures += storeFailure(() -> s.rowOf(w));
                }
            }
            failures += storeFailure(s::refresh);
            failures += storeFailure(s::generation);
            failures += storeFailure(s::toString);
        }
        return failures == 0 ? 0 : 2;
    }

    private static int storeFailure(Executable use) {
        try {
            use.execute();
            return 0;
        } catch (StoreException e) {
            return 1;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Flips bytes in, cuts, or extends one file of {@code dir}. */
    private static Mutation mutate(Path dir, SplittableRandom random) throws IOException {
        List<String> files = new ArrayList<>(FILES);
        files.add(WriterLock.FILE);
        String name = files.get(random.nextInt(files.size()));
        Path file = dir.resolve(name);
        byte[] bytes = Files.readAllBytes(file);
        int kind = random.nextInt(10);
        String what;
        if (kind < 6 && bytes.length > 0) {
            // Flip 1..4 bytes, most often where the structure is: the header of matrix.npy and vocab.index, the fields
            // of control.bin.
            int region = switch (name) {
                case "matrix.npy" -> random.nextBoolean() ? 128 : bytes.length;
                case "control.bin" -> random.nextInt(4) > 0 ? 64 : bytes.length;
                case "vocab.index" -> random.nextBoolean() ? 64 : bytes.length;
                default -> bytes.length;
            };
            region = Math.min(region, bytes.length);
            StringBuilder sb = new StringBuilder("flip");
            for (int i = 0, count = 1 + random.nextInt(4); i < count; i++) {
                int at = random.nextInt(region);
                byte old = bytes[at];
                bytes[at] = (byte) (old ^ (1 + random.nextInt(255)));
                sb.append(' ').append(at).append(':').append(HexFormat.of().toHexDigits(old)).append("->")
                        .append(HexFormat.of().toHexDigits(bytes[at]));
            }
            what = sb.toString();
            Files.write(file, bytes);
        } else if (kind < 8 && bytes.length > 0) {
            int length = random.nextInt(bytes.length);
            what = "cut " + bytes.length + "->" + length;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(length);
            }
        } else {
            byte[] extra = new byte[1 + random.nextInt(5000)];
            boolean zeros = random.nextBoolean();
            if (!zeros) {
                random.nextBytes(extra);
            }
            what = "extend " + bytes.length + "+" + extra.length + (zeros ? " zeros" : " random bytes");
            Files.write(file, extra, StandardOpenOption.APPEND);
        }
        return new Mutation(name, what);
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectory(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

}
