package io.embstore.formats;

import io.embstore.store.Draft;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.SubwordLayout;
import io.embstore.store.Subwords;
import io.embstore.store.io.Futures;
import io.embstore.store.io.Phases;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reads a fastText {@code .bin} model (the layout of fastText's {@code FastText::saveModel}, version 12; 11 is read
 * as fastText reads it) from a mapped file. Every count is checked against the bytes that follow it before anything
 * is allocated from it, and errors name the byte offset.
 *
 * <pre>
 * int32 magic 793712314, int32 version 12                                   (all little-endian)
 * args:  int32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate; float64 t
 * dict:  int32 size, nwords, nlabels; int64 ntokens, pruneidx_size
 *        size entries: word (UTF-8, NUL-terminated), int64 count, int8 type (0 word, 1 label): words first
 *        pruneidx_size pairs of int32 (quantized models only)
 * int8 quant (1: a quantized .ftz model, not read)
 * input matrix:  int64 m, int64 n, m * n float32: nwords word rows, then bucket n-gram rows
 * int8 qout; output matrix: int64 m, int64 n, m * n float32 (skipped)
 * </pre>
 *
 * The store gets the words' vectors as fastText gives them (each word's input row averaged with its n-grams' rows,
 * as {@code print-word-vectors} prints them), then the bucket rows as they are, so that an absent word's vector is
 * the mean of its n-grams' bucket rows ({@link Subwords}). Labels of a supervised model are not rows.
 */
final class FastTextBinReader {
    static final int MAGIC = 793712314;
    static final int VERSION = 12;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** fastText's {@code model_name::sup}. */
    private static final int MODEL_SUPERVISED = 3;
    /** Smallest dictionary entry: an empty word's NUL, the count and the type. */
    private static final int MIN_ENTRY_BYTES = 1 + 8 + 1;
    /** Words whose vectors one task composes. */
    private static final int BLOCK_WORDS = 4096;

    private final Path file;
    private final MemorySegment seg;
    private final long size;
    private final ConvertOptions options;

    int dim;
    int minn;
    int maxn;
    long bucket;
    int nwords;
    /** Where each word's bytes start, and their lengths, in file order (the rows' order). */
    long[] wordStart;
    int[] wordLength;
    /** Where the input matrix's values start. */
    long inputStart;

    FastTextBinReader(Path file, MemorySegment seg, long size, ConvertOptions options) {
        this.file = file;
        this.seg = seg;
        this.size = size;
        this.options = options;
    }

    /** Whether the file starts with fastText's magic number. */
    static boolean isFastTextModel(MemorySegment seg, long size) {
        return size >= 4 && seg.get(I32, 0) == MAGIC;
    }

    /** Reads and checks everything before the rows: the header, the dictionary and the matrices' shapes. */
    void readHeader() {
        need(0, 8, "fastText's magic number and version");
        int magic = seg.get(I32, 0);
        if (magic != MAGIC) {
            throw InputException.atOffset(file, 0, "not a fastText model: expected the magic number " + MAGIC
                    + ", found " + magic);
        }
        int version = seg.get(I32, 4);
        if (version != VERSION && version != 11) {
            throw InputException.atOffset(file, 4, "fastText model version " + version
                    + " is not supported: this reader knows versions 11 and " + VERSION);
        }
        long at = 8;
        need(at, 12 * 4 + 8, "the model's arguments (dim ... t)");
        dim = seg.get(I32, at);
        int model = seg.get(I32, at + 7 * 4);
        long bucketAt = at + 8 * 4;
        bucket = seg.get(I32, bucketAt);
        minn = seg.get(I32, at + 9 * 4);
        maxn = seg.get(I32, at + 10 * 4);
        if (version == 11 && model == MODEL_SUPERVISED) {
            maxn = 0; // as fastText: old supervised models used no character n-grams
        }
        if (dim < 1 || dim > EmbeddingStore.MAX_DIM) {
            throw InputException.atOffset(file, at, "the model's dim is " + dim + ", expected 1 to " + EmbeddingStore.MAX_DIM);
        }
        if (bucket < 0 || minn < 0 || maxn < 0) {
            throw InputException.atOffset(file, bucketAt, "the model's bucket " + bucket + ", minn " + minn + " and maxn "
                    + maxn + " must not be negative");
        }
        at += 12 * 4;
        double t = seg.get(F64, at);
        at += 8;
        if (!Double.isFinite(t)) {
            throw InputException.atOffset(file, at - 8, "the model's sampling threshold t is " + t
                    + ": not a fastText model, or a damaged one");
        }
        long dictAt = at;
        need(at, 3 * 4 + 2 * 8, "the dictionary's counts");
        int entries = seg.get(I32, at);
        nwords = seg.get(I32, at + 4);
        int nlabels = seg.get(I32, at + 8);
        long pruneidxSize = seg.get(I64, at + 20);
        at += 28;
        if (nwords < 1 || nlabels < 0 || entries != (long) nwords + nlabels) {
            throw InputException.atOffset(file, dictAt, "the dictionary declares " + entries + " entries, " + nwords
                    + " words and " + nlabels + " labels: expected 1 word or more and entries = words + labels");
        }
        if ((long) entries * MIN_ENTRY_BYTES > size - at) {
            throw InputException.atOffset(file, dictAt, "the dictionary declares " + entries + " entries, which need at least "
                    + (long) entries * MIN_ENTRY_BYTES + " bytes, but the file has " + (size - at) + " after its header");
        }
        wordStart = new long[nwords];
        wordLength = new int[nwords];
        for (int i = 0; i < entries; i++) {
            long start = at;
            long nul = TextScan.indexOf(seg, at, Math.min(size, at + EmbeddingStore.MAX_WORD_BYTES + 1), (byte) 0);
            if (nul < 0) {
                throw InputException.atOffset(file, at, "dictionary entry " + (i + 1) + ": "
                        + (size - at <= EmbeddingStore.MAX_WORD_BYTES ? "the file ends inside the word"
                        : "no word end (NUL) within " + EmbeddingStore.MAX_WORD_BYTES + " bytes"));
            }
            at = nul + 1;
            need(at, 9, "dictionary entry " + (i + 1) + "'s count and type");
            byte type = seg.get(ValueLayout.JAVA_BYTE, at + 8);
            at += 9;
            if (type != (i < nwords ? 0 : 1)) {
                throw InputException.atOffset(file, at - 1, "dictionary entry " + (i + 1) + " has type " + type
                        + ", expected " + (i < nwords ? "0 (a word: words come first)" : "1 (a label)"));
            }
            if (i < nwords) {
                wordStart[i] = start;
                wordLength[i] = (int) (nul - start);
            }
        }
        if (pruneidxSize > 0) {
            if (pruneidxSize > (size - at) / 8) {
                throw InputException.atOffset(file, dictAt + 20, "the dictionary declares " + pruneidxSize
                        + " pruned n-gram pairs, more than the " + (size - at) + " bytes after it hold");
            }
            at += 8 * pruneidxSize;
        }
        need(at, 1, "the quantization flag");
        if (seg.get(ValueLayout.JAVA_BYTE, at) != 0) {
            throw InputException.atOffset(file, at, "a quantized fastText model (.ftz) is not supported: convert the"
                    + " .bin model it was made from, or its .vec file");
        }
        if (pruneidxSize >= 0) {
            throw InputException.atOffset(file, dictAt + 20, "the dictionary is pruned (" + pruneidxSize
                    + " pairs) but the matrix is not quantized: fastText itself refuses such a model");
        }
        at += 1;
        inputStart = matrix(at, (long) nwords + bucket, "input");
        long outputAt = inputStart + 4L * ((long) nwords + bucket) * dim;
        need(outputAt, 1, "the output matrix's quantization flag");
        long outputStart = matrix(outputAt + 1, -1, "output");
        long outputEnd = outputStart + 4L * seg.get(I64, outputAt + 1) * seg.get(I64, outputAt + 9);
        if (outputEnd != size) {
            throw InputException.atOffset(file, outputEnd, "the model ends here, but the file has " + (size - outputEnd)
                    + " more bytes: not a fastText model, or a damaged one");
        }
    }

    /**
     * Checks the shape of the matrix whose {@code int64 m, int64 n} header is at {@code at} ({@code rows} rows, or
     * any when -1, of {@code dim} values) and that its values fit in the file; returns where they start.
     */
    private long matrix(long at, long rows, String name) {
        need(at, 16, "the " + name + " matrix's shape");
        long m = seg.get(I64, at);
        long n = seg.get(I64, at + 8);
        if (rows >= 0 && m != rows || m < 0 || n != dim) {
            throw InputException.atOffset(file, at, "the " + name + " matrix is " + m + " x " + n + ", expected "
                    + (rows >= 0 ? rows + " (words + buckets)" : "some number of rows") + " x " + dim + " (dim)");
        }
        long start = at + 16;
        if (m > (size - start) / 4 / dim) {
            throw InputException.atOffset(file, start, "the " + name + " matrix needs " + m + " x " + dim
                    + " float32 values, but the file has " + (size - start) + " bytes after its shape");
        }
        return start;
    }

    private void need(long at, long bytes, String what) {
        if (size - at < bytes) {
            throw InputException.atOffset(file, at, "the file ends before " + what + " (" + bytes + " bytes): truncated?");
        }
    }

    /** The subword layout the store records, or null when the model has no character n-grams. */
    SubwordLayout layout(long wordRows) {
        // fastText counts n-gram lengths from 1: minn 0 (supervised's default) makes the n-grams of minn 1.
        int shortest = Math.max(1, minn);
        return maxn == 0 || bucket == 0 || shortest > maxn ? null : new SubwordLayout(shortest, maxn, bucket, wordRows);
    }

    /** Rows the store gets: the words kept, then the buckets when the model has subwords. */
    long storeRows(long wordRows) {
        return wordRows + (layout(wordRows) == null ? 0 : bucket);
    }

    /** Puts the word rows ({@code wordRows} of them, fastText's composed vectors) and the bucket rows into the draft. */
    void read(Draft draft, long wordRows) {
        SubwordLayout layout = layout(wordRows);
        long rows = storeRows(wordRows);
        draft.ensureCapacity(rows);
        long wordBytes = 0;
        for (int i = 0; i < wordRows; i++) {
            wordBytes += wordLength[i];
        }
        long bucketWordBytes = layout == null ? 0 : bucket * Subwords.bucketWord(bucket).length();
        draft.ensureWordCapacity(RowSink.wordCapacityBound(wordBytes, wordRows, options.encoding())
                + bucketWordBytes + 8 * (rows - wordRows));
        if (layout != null) {
            draft.subwords(layout);
        }
        int threads = Math.max(1, options.threads());
        ExecutorService pool = WorkerPool.fixed(threads, "embstore-fasttext");
        try {
            // The buckets' blocks first, in file order: a word's vector reads its n-grams' rows anywhere in the
            // bucket region, which a cold file would serve as random reads (a few thousand a second from a disk);
            // read front to back first, they are in the page cache when the words come.
            long wordBlocks = (wordRows + BLOCK_WORDS - 1) / BLOCK_WORDS;
            long bucketBlocks = (rows - wordRows + BLOCK_WORDS - 1) / BLOCK_WORDS;
            long blocks = bucketBlocks + wordBlocks;
            AtomicInteger next = new AtomicInteger();
            List<Future<InputException>> workers = new ArrayList<>();
            for (int w = 0; w < threads; w++) {
                workers.add(pool.submit(() -> {
                    RowSink sink = new RowSink(draft, options.encoding());
                    float[] sum = new float[dim];
                    float[] row = new float[dim];
                    byte[] word = new byte[EmbeddingStore.MAX_WORD_BYTES];
                    for (long task = next.getAndIncrement(); task < blocks; task = next.getAndIncrement()) {
                        boolean buckets = task < bucketBlocks;
                        long first = buckets ? wordRows + task * BLOCK_WORDS : (task - bucketBlocks) * BLOCK_WORDS;
                        long end = Math.min(buckets ? rows : wordRows, first + BLOCK_WORDS);
                        for (long r = first; r < end; r++) {
                            InputException e = r < wordRows ? wordRow(sink, (int) r, sum, row, word)
                                    : bucketRow(sink, r, r - wordRows, sum);
                            if (e != null) {
                                return e;
                            }
                        }
                        options.progress().advance(0, end - first);
                    }
                    return null;
                }));
            }
            InputException first = null;
            for (Future<InputException> f : workers) {
                InputException e = Futures.joinUnchecked(f);
                if (e != null && (first == null || e.offset() < first.offset())) {
                    first = e;
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            pool.shutdownNow();
        }
        Phases.ended("parsed");
    }

    /** Row {@code i}: word {@code i}'s input row averaged with its n-grams' rows, as fastText's getWordVector. */
    private InputException wordRow(RowSink sink, int i, float[] sum, float[] row, byte[] word) {
        int length = wordLength[i];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, wordStart[i], word, 0, length);
        long[] ngrams = maxn == 0 || bucket == 0 ? new long[0]
                : Subwords.ngramBuckets(java.util.Arrays.copyOf(word, length), minn, maxn, bucket);
        long rowAt = inputStart + 4L * i * dim;
        MemorySegment.copy(seg, BinaryVectorReader.F32_LE, rowAt, sum, 0, dim);
        InputException bad = nonFinite(sum, rowAt, "word " + (i + 1));
        if (bad != null) {
            return bad;
        }
        for (long g : ngrams) {
            MemorySegment.copy(seg, BinaryVectorReader.F32_LE, inputStart + 4L * (nwords + g) * dim, row, 0, dim);
            for (int d = 0; d < dim; d++) {
                sum[d] += row[d];
            }
        }
        Subwords.scaleByCount(sum, dim, 1 + ngrams.length);
        try {
            sink.put(i, sum, word, 0, length);
        } catch (LineParser.MalformedLine e) {
            return InputException.atOffset(file, wordStart[i], "word " + (i + 1) + ": " + e.getMessage());
        }
        return null;
    }

    /** Row {@code row}: bucket {@code b}'s, named by {@link Subwords#bucketWord}. */
    private InputException bucketRow(RowSink sink, long row, long b, float[] values) {
        long rowAt = inputStart + 4L * (nwords + b) * dim;
        MemorySegment.copy(seg, BinaryVectorReader.F32_LE, rowAt, values, 0, dim);
        InputException bad = nonFinite(values, rowAt, "n-gram bucket " + b);
        if (bad != null) {
            return bad;
        }
        byte[] name = Subwords.bucketWord(b).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try {
            sink.put(row, values, name, 0, name.length);
        } catch (LineParser.MalformedLine e) {
            return InputException.atOffset(file, rowAt, "n-gram bucket " + b + ": " + e.getMessage());
        }
        return null;
    }

    private InputException nonFinite(float[] values, long rowAt, String what) {
        if (options.allowNonFinite()) {
            return null;
        }
        for (int d = 0; d < dim; d++) {
            if (!Float.isFinite(values[d])) {
                return InputException.atOffset(file, rowAt + 4L * d, what + ", value " + (d + 1) + " is " + values[d]
                        + ": use --allow-nonfinite to keep such values");
            }
        }
        return null;
    }
}
