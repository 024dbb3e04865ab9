package io.embstore.store;

import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The text manifest {@code manifest.txt}: what a store directory holds, in {@code key=value} lines after a first line
 * {@value #MAGIC}. Together with {@code capacity} from the control block it gives the expected size of every file, so
 * that sizes are checked before anything is mapped.
 *
 * <pre>
 * embstore-manifest
 * format_version=1
 * dtype=f32              f32 (&lt;f4), f16 (&lt;f2), q8 or q4 (row-wise quantized, see QuantizedRows)
 * dim=300
 * rows=400000            rows at the last flush (the control block has the live count)
 * vocabulary=true        whether vocab.words / vocab.offsets / vocab.index exist
 * padding_index=-1       the padding row, or -1
 * matrix_header_bytes=4096
 * subword_hash=fasttext-fnv1a32   only in a store converted from a fastText .bin model (SubwordLayout), with
 * subword_minn=3                  the n-gram lengths, the bucket rows and the word rows before them
 * subword_maxn=6
 * subword_buckets=2000000
 * word_rows=2000000
 * </pre>
 *
 * The writer rewrites it atomically (temporary file, fsync, rename) when {@code rows} changes at a flush.
 */
record Manifest(int formatVersion, Dtype dtype, int dim, long rows, boolean vocabulary, long paddingIndex,
                SubwordLayout subwords) {
    static final String FILE = "manifest.txt";
    static final String MAGIC = "embstore-manifest";
    static final int FORMAT_VERSION = 1;

    String render() {
        return MAGIC + "\n"
                + "format_version=" + formatVersion + "\n"
                + "dtype=" + dtype.label() + "\n"
                + "dim=" + dim + "\n"
                + "rows=" + rows + "\n"
                + "vocabulary=" + vocabulary + "\n"
                + "padding_index=" + paddingIndex + "\n"
                + "matrix_header_bytes=" + NpyHeader.BYTES + "\n"
                + (subwords == null ? "" : "subword_hash=" + SubwordLayout.HASH + "\n"
                + "subword_minn=" + subwords.minn() + "\n"
                + "subword_maxn=" + subwords.maxn() + "\n"
                + "subword_buckets=" + subwords.buckets() + "\n"
                + "word_rows=" + subwords.wordRows() + "\n");
    }

    Manifest withRows(long newRows) {
        return new Manifest(formatVersion, dtype, dim, newRows, vocabulary, paddingIndex, subwords);
    }

    /** Reads and checks {@code dir/manifest.txt}; a directory without one is "not a store". */
    static Manifest read(Path dir) {
        Path file = dir.resolve(FILE);
        String text;
        try {
            if (Files.size(file) > 64 * 1024) {
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        "manifest is " + Files.size(file) + " bytes, more than a manifest can be");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            // The directory is there but is not a store (as a path that is a file is not): malformed input, not
            // something missing.
            throw new StoreException(StoreException.Kind.CORRUPT, dir,
                    "not an embstore store: no " + FILE + " in this directory");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "manifest is not UTF-8 text", e);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, file, "cannot read the manifest", e);
        }
        String[] lines = text.split("\n", -1);
        if (!lines[0].equals(MAGIC)) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "line 1 must be '" + MAGIC + "', found '" + abbreviate(lines[0]) + "'");
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new StoreException(StoreException.Kind.CORRUPT, file,
                        "line " + (i + 1) + ": expected key=value, found '" + abbreviate(line) + "'");
            }
            kv.put(line.substring(0, eq), line.substring(eq + 1));
        }
        long version = number(file, kv, "format_version", 1, Integer.MAX_VALUE);
        if (version != FORMAT_VERSION) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "format_version " + version + " is not supported: this embstore reads version "
                    + FORMAT_VERSION);
        }
        String dtypeLabel = required(file, kv, "dtype");
        Dtype dtype = Dtype.fromLabel(dtypeLabel);
        if (dtype == null) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "dtype '" + abbreviate(dtypeLabel) + "' is unknown, expected f32, f16, q8 or q4");
        }
        int dim = (int) number(file, kv, "dim", 1, EmbeddingStore.MAX_DIM);
        long rows = number(file, kv, "rows", 0, EmbeddingStore.MAX_ROWS);
        String vocab = required(file, kv, "vocabulary");
        if (!vocab.equals("true") && !vocab.equals("false")) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "vocabulary must be true or false, found '" + abbreviate(vocab) + "'");
        }
        long padding = number(file, kv, "padding_index", -1, EmbeddingStore.MAX_ROWS);
        long headerBytes = number(file, kv, "matrix_header_bytes", 0, Long.MAX_VALUE);
        if (headerBytes != NpyHeader.BYTES) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "matrix_header_bytes is " + headerBytes + ", expected " + NpyHeader.BYTES);
        }
        return new Manifest((int) version, dtype, dim, rows, vocab.equals("true"), padding, subwords(file, kv, rows));
    }

    /** The subword keys, all or none (an older store has none: it answers only the words it has). */
    private static SubwordLayout subwords(Path file, Map<String, String> kv, long rows) {
        String hash = kv.get("subword_hash");
        if (hash == null) {
            return null;
        }
        if (!hash.equals(SubwordLayout.HASH)) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    "subword_hash '" + abbreviate(hash) + "' is unknown, expected " + SubwordLayout.HASH);
        }
        int minn = (int) number(file, kv, "subword_minn", 1, Integer.MAX_VALUE);
        int maxn = (int) number(file, kv, "subword_maxn", minn, Integer.MAX_VALUE);
        long buckets = number(file, kv, "subword_buckets", 1, rows);
        long wordRows = number(file, kv, "word_rows", 0, rows - buckets);
        return new SubwordLayout(minn, maxn, buckets, wordRows);
    }

    private static String required(Path file, Map<String, String> kv, String key) {
        String v = kv.get(key);
        if (v == null) {
            throw new StoreException(StoreException.Kind.CORRUPT, file, "missing key '" + key + "'");
        }
        return v;
    }

    private static long number(Path file, Map<String, String> kv, String key, long min, long max) {
        String v = required(file, kv, key);
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    key + " must be an integer, found '" + abbreviate(v) + "'");
        }
        if (n < min || n > max) {
            throw new StoreException(StoreException.Kind.CORRUPT, file,
                    key + " " + n + " is outside [" + min + ", " + max + "]");
        }
        return n;
    }

    private static String abbreviate(String s) {
        String printable = s.replaceAll("\\p{Cntrl}", "?");
        return printable.length() <= 60 ? printable : printable.substring(0, 60) + "...";
    }
}
