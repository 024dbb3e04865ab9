package io.embstore.formats;

import io.embstore.store.io.Phases;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.OnDuplicate;
import io.embstore.store.DuplicateListener;
import io.embstore.store.Draft;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Converts a word2vec (text or binary), fastText {@code .vec} or GloVe file, plain or gzip-compressed, into a store.
 *
 * <p>Plain files are mapped and parsed on every core ({@link TextVectorReader}, {@link BinaryVectorReader}); gzip
 * input is streamed on one thread ({@link StreamingVectorReader}). Either way the store is built as a
 * {@link Draft}: any error deletes it, so a failed conversion leaves nothing behind. Heap use does not
 * grow with the input.
 */
final class VectorConverter {
    private static final int DETECT_BYTES = 1 << 20;

    private VectorConverter() {
    }

    static ConversionSummary convert(Path input, Path store, ConvertOptions options) {
        Phases.ended("main");
        long started = System.nanoTime();
        long size;
        try {
            if (Files.isDirectory(input)) {
                throw new InputException(input, null, "is a directory, expected a vector file");
            }
            size = Files.size(input);
        } catch (NoSuchFileException e) {
            throw new InputException(input, null, "no such file");
        } catch (IOException e) {
            throw new UncheckedIOException(input + ": cannot read: " + e.getMessage(), e);
        }
        if (size == 0) {
            throw new InputException(input, null, "the file is empty: expected word vectors");
        }
        boolean gzip = isGzip(input);
        if (gzip && options.format() == VectorFormat.FASTTEXT_BIN) {
            throw new InputException(input, null, "a compressed fastText model is not read as it is: decompress it first");
        }
        Result result = gzip ? convertStream(input, store, options) : convertMapped(input, store, size, options);
        return new ConversionSummary(input, store, result.format, result.rows, result.dim, options.dtype(),
                result.duplicates.count, result.duplicates.examples, size, System.nanoTime() - started);
    }

    private record Result(VectorFormat format, long rows, int dim, DuplicateCounter duplicates) {
    }

    static boolean isGzip(Path input) {
        try (InputStream in = Files.newInputStream(input)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        } catch (IOException e) {
            throw new UncheckedIOException(input + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static int skipBom(byte[] head, int end) {
        return end >= 3 && head[0] == (byte) 0xef && head[1] == (byte) 0xbb && head[2] == (byte) 0xbf ? 3 : 0;
    }

    /** Where the body starts and its shape, read from the first bytes of the input. */
    private record Layout(VectorFormat format, int dim, long declaredRows, int bodyStart, long firstLine) {
    }

    /**
     * Reads the format, dim and declared rows from {@code head}, the first bytes of the input ({@code complete} when
     * that is the whole input): a word2vec header is checked; GloVe's dim is the number of values on its first line.
     */
    private static Layout layout(Path input, byte[] head, int length, boolean complete, ConvertOptions options) {
        int start = skipBom(head, length);
        VectorFormat format = options.format() != null ? options.format() : VectorFormat.detect(head, start, length);
        if (format == VectorFormat.GLOVE) {
            int first = start;
            long line = 1;
            while (true) {
                int nl = TextScan.indexOf(head, first, length, (byte) '\n');
                int lineEnd = nl < 0 ? length : nl;
                if (LineParser.trimEnd(head, first, lineEnd) > first) {
                    if (nl < 0 && !complete) {
                        throw InputException.atLine(input, line, "the first line is longer than " + length + " bytes");
                    }
                    int dim = LineParser.countTrailingNumbers(head, first, LineParser.trimEnd(head, first, lineEnd));
                    if (dim == 0) {
                        throw InputException.atLine(input, line, "expected a word followed by numbers (GloVe format)");
                    }
                    if (dim > EmbeddingStore.MAX_DIM) {
                        throw InputException.atLine(input, line, "the line has " + dim
                                + " numbers, more than a store's dim can be (" + EmbeddingStore.MAX_DIM + ")");
                    }
                    return new Layout(format, dim, -1, start, 1);
                }
                if (nl < 0) {
                    throw new InputException(input, null, "the file has only blank lines: expected word vectors");
                }
                first = nl + 1;
                line++;
            }
        }
        VectorFormat.Header h = checkedHeader(input, head, start, length, format);
        return new Layout(format, (int) h.dim(), h.rows(), h.endOffset(), 2);
    }

    /** The header of a word2vec file, checked: dim in range, rows at least 1 and not absurd. */
    private static VectorFormat.Header checkedHeader(Path input, byte[] head, int start, int end, VectorFormat format) {
        VectorFormat.Header h = VectorFormat.header(head, start, end);
        if (h == null) {
            throw InputException.atLine(input, 1, "expected a header line 'rows dim' (two numbers) for " + format.label()
                    + " input" + (format == VectorFormat.WORD2VEC ? "; a file without one is GloVe: --format glove" : ""));
        }
        if (h.rows() < 1) {
            // Zero is refused with the negatives: a vector file of no rows is a damaged or truncated one in practice.
            throw InputException.atLine(input, 1, "the header declares " + h.rows() + " rows, expected 1 or more");
        }
        if (h.dim() < 1 || h.dim() > EmbeddingStore.MAX_DIM) {
            throw InputException.atLine(input, 1, "the header declares dim " + h.dim() + ", expected 1 to " + EmbeddingStore.MAX_DIM);
        }
        if (h.rows() > EmbeddingStore.MAX_ROWS) {
            throw InputException.atLine(input, 1, "the header declares " + h.rows() + " rows, more than a store holds ("
                    + EmbeddingStore.MAX_ROWS + ")");
        }
        return h;
    }

    private static Result convertMapped(Path input, Path store, long size, ConvertOptions options) {
        try (Arena arena = Arena.ofShared();
             FileChannel ch = FileChannel.open(input, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (options.format() == VectorFormat.FASTTEXT_BIN
                    || options.format() == null && FastTextBinReader.isFastTextModel(seg, size)) {
                return convertFastText(input, store, seg, size, options);
            }
            int headLength = (int) Math.min(size, DETECT_BYTES);
            byte[] head = seg.asSlice(0, headLength).toArray(ValueLayout.JAVA_BYTE);
            Layout layout = layout(input, head, headLength, headLength == size, options);
            VectorFormat format = layout.format();
            int dim = layout.dim();
            long declaredRows = layout.declaredRows();
            long bodyStart = layout.bodyStart();
            long firstLine = layout.firstLine();
            long body = size - bodyStart;
            if (format == VectorFormat.WORD2VEC_BINARY) {
                BinaryVectorReader.checkHeaderFits(input, declaredRows, dim, body);
            } else if (declaredRows > 0 && declaredRows > (body + 1) / (2L * dim + 1)) {
                // A text row is at least a 1-byte word and dim pairs of separator and digit.
                throw InputException.atLine(input, 1, "the header declares " + declaredRows + " rows of " + dim
                        + " values, which needs at least " + (2L * dim + 1) * declaredRows + " bytes, but the file has "
                        + body + " after the header");
            }
            DuplicateCounter duplicates = new DuplicateCounter(options.onDuplicate());
            try (Draft draft = EmbeddingStore.builder(store).dim(dim).dtype(options.dtype()).draft()) {
                // Similarity queries want every row's norm: computed once, at the load, not by every reader's query.
                draft.computeNormsOnCommit(true);
                long rows;
                if (format == VectorFormat.WORD2VEC_BINARY) {
                    rows = new BinaryVectorReader(input, seg, bodyStart, size, dim, declaredRows, options).read(draft);
                    Phases.ended("parsed");
                    duplicates.locate(row -> new InputException(input, "row " + (row + 1), ""));
                } else {
                    TextVectorReader reader = new TextVectorReader(input, seg, bodyStart, size, firstLine, dim, declaredRows, options);
                    rows = reader.read(draft);
                    Phases.ended("parsed");
                    duplicates.locate(row -> InputException.atLine(input, reader.lineOfRow(row), ""));
                }
                long kept = draft.commit(rows, duplicates.policy(), duplicates);
                return new Result(format, kept, dim, duplicates);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(input + ": cannot map the file: " + e.getMessage(), e);
        }
    }

    private static Result convertFastText(Path input, Path store, MemorySegment seg, long size, ConvertOptions options) {
        FastTextBinReader reader = new FastTextBinReader(input, seg, size, options);
        reader.readHeader();
        Phases.ended("header");
        long wordRows = options.limit() >= 0 ? Math.min(options.limit(), reader.nwords) : reader.nwords;
        DuplicateCounter duplicates = new DuplicateCounter(options.onDuplicate());
        try (Draft draft = EmbeddingStore.builder(store).dim(reader.dim).dtype(options.dtype()).draft()) {
            draft.computeNormsOnCommit(true);
            reader.read(draft, wordRows);
            long rows = reader.storeRows(wordRows);
            // fastText's words are distinct; two can only meet after --encoding re-encoded them, and dropping one
            // would move every n-gram bucket after it.
            long kept = draft.commit(rows, duplicates.policy(), (word, first, duplicate) -> {
                throw new InputException(input, "word " + (duplicate + 1), "'" + word + "' is word " + (first + 1)
                        + " too after --encoding " + options.encoding().name().toLowerCase(java.util.Locale.ROOT)
                        + ": a model's words must stay distinct");
            });
            return new Result(VectorFormat.FASTTEXT_BIN, kept, reader.dim, duplicates);
        }
    }

    private static Result convertStream(Path input, Path store, ConvertOptions options) {
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(input), 1 << 16), 1 << 16)) {
            StreamWindow window = new StreamWindow(in, input);
            window.fill(DETECT_BYTES);
            int end = window.limit();
            if (end == 0) {
                throw new InputException(input, null, "the compressed file is empty: expected word vectors");
            }
            Layout layout = layout(input, window.buffer(), end, end < DETECT_BYTES, options);
            VectorFormat format = layout.format();
            int dim = layout.dim();
            long declaredRows = layout.declaredRows();
            long firstLine = layout.firstLine();
            window.advanceTo(layout.bodyStart());
            DuplicateCounter duplicates = new DuplicateCounter(options.onDuplicate());
            // Rows, not lines, name duplicates here: a stream cannot be read twice to find the line.
            duplicates.locate(row -> new InputException(input, "row " + (row + 1), ""));
            try (Draft draft = EmbeddingStore.builder(store).dim(dim).dtype(options.dtype()).draft()) {
                // Similarity queries want every row's norm: computed once, at the load, not by every reader's query.
                draft.computeNormsOnCommit(true);
                StreamingVectorReader reader = new StreamingVectorReader(input, window, options);
                long rows = format == VectorFormat.WORD2VEC_BINARY
                        ? reader.readBinary(draft, dim, declaredRows)
                        : reader.readText(draft, dim, declaredRows, firstLine);
                long kept = draft.commit(rows, duplicates.policy(), duplicates);
                return new Result(format, kept, dim, duplicates);
            }
        } catch (java.util.zip.ZipException e) {
            throw new InputException(input, null, "not a valid gzip file: " + e.getMessage());
        } catch (java.io.EOFException e) {
            throw new InputException(input, null, "the gzip stream is truncated");
        } catch (IOException e) {
            throw new UncheckedIOException(input + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Counts duplicate words, keeps a few examples, and turns one into an error under {@code --on-duplicate error}. */
    static final class DuplicateCounter implements DuplicateListener {
        private final ConvertOptions.Duplicates mode;
        private java.util.function.LongFunction<InputException> locator;
        long count;
        final List<String> examples = new ArrayList<>();

        DuplicateCounter(ConvertOptions.Duplicates mode) {
            this.mode = mode;
        }

        void locate(java.util.function.LongFunction<InputException> locator) {
            this.locator = locator;
        }

        OnDuplicate policy() {
            return mode == ConvertOptions.Duplicates.LAST ? OnDuplicate.KEEP_LAST : OnDuplicate.KEEP_FIRST;
        }

        @Override
        public void duplicate(String word, long firstRow, long duplicateRow) {
            count++;
            if (mode == ConvertOptions.Duplicates.ERROR) {
                // The first duplicate stops the commit, so no row was dropped yet: firstRow is also its row as read.
                InputException at = locator.apply(duplicateRow);
                throw at.withMessage("duplicate word '" + word + "', first at "
                        + locator.apply(firstRow).where() + " (--on-duplicate first or last keeps one of them)");
            }
            if (examples.size() < 5) {
                examples.add(word);
            }
        }
    }
}
