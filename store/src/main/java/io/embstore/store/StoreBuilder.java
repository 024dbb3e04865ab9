package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/** Describes a store to create; {@link #create()} builds it atomically and opens it for writing. */
public final class StoreBuilder {
    private final Path dir;
    private long rows = -1;
    private int dim = -1;
    private Dtype dtype;
    private List<String> words;
    private boolean vocabulary = true;
    private long paddingIndex = -1;
    private Init init = Init.normal(0);

    StoreBuilder(Path dir) {
        this.dir = Objects.requireNonNull(dir, "dir");
    }

    /** Number of rows; implied by {@link #words} or {@link Init#copyOf} when not given. */
    public StoreBuilder rows(long rows) {
        if (rows < 0 || rows > EmbeddingStore.MAX_ROWS) {
            throw new IllegalArgumentException("rows must be in [0, " + EmbeddingStore.MAX_ROWS + "]: rows=" + rows);
        }
        this.rows = rows;
        return this;
    }

    /** Number of dimensions; implied by {@link Init#copyOf} when not given. */
    public StoreBuilder dim(int dim) {
        if (dim < 1 || dim > EmbeddingStore.MAX_DIM) {
            throw new IllegalArgumentException("dim must be in [1, " + EmbeddingStore.MAX_DIM + "]: dim=" + dim);
        }
        this.dim = dim;
        return this;
    }

    /** Element type; f32 unless given (or the source's, for {@link Init#copyOf}). */
    public StoreBuilder dtype(Dtype dtype) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        return this;
    }

    /** The word of each row, in row order; words must be distinct. */
    public StoreBuilder words(List<String> words) {
        this.words = List.copyOf(words);
        return this;
    }

    /**
     * Whether the store keeps a vocabulary (default true). A store without one is a plain id-indexed table, as a
     * recommender's; its rows are appended with {@link WritableStore#appendRow}.
     */
    public StoreBuilder vocabulary(boolean vocabulary) {
        this.vocabulary = vocabulary;
        return this;
    }

    /** The padding row ({@code padding_idx}): it reads as zeros and is never written. -1 for none. */
    public StoreBuilder paddingIndex(long paddingIndex) {
        if (paddingIndex < -1) {
            throw new IllegalArgumentException("paddingIndex must be -1 (none) or a row: " + paddingIndex);
        }
        this.paddingIndex = paddingIndex;
        return this;
    }

    /** How rows start; {@code Init.normal(0)} unless given. */
    public StoreBuilder init(Init init) {
        this.init = Objects.requireNonNull(init, "init");
        return this;
    }

    /**
     * Builds the store in a temporary sibling directory, forces every file to disk, renames it to its path and
     * forces the parent directory: the store appears whole or not at all. Returns it open for writing. The disk
     * space of every row is reserved before the first is written; temporary directories that killed builds of
     * the same path left behind are removed first (each removal is logged through {@link System.Logger}).
     *
     * @throws StoreException if the path exists or the files cannot be written ("no space left on device" when the
     *                        table does not fit; nothing is left behind)
     */
    public WritableStore create() {
        Spec spec = resolve();
        try (StoreDraft draft = new StoreDraft(spec.dir(), spec.dim(), spec.dtype(), spec.words() != null,
                spec.paddingIndex(), spec.rows())) {
            // Every row is written (zeros too, by a later write), so all of their blocks are reserved before any
            // work: a table larger than the disk fails here, at once.
            draft.reserveRows(spec.rows());
            if (spec.init() instanceof Init.CopyOf c && words == null && spec.words() != null) {
                // A copy with the source's own words keeps a fastText model's n-gram buckets, the rows after its
                // words, as buckets; a copy with the caller's words has words there.
                SubwordLayout layout = c.source().subwords().map(Subwords::layout).orElse(null);
                if (layout != null && spec.rows() >= layout.wordRows() + layout.buckets()) {
                    draft.subwords(layout);
                } else if (layout != null && spec.rows() > layout.wordRows()) {
                    throw new IllegalArgumentException("rows " + spec.rows() + " would keep part of the source's "
                            + layout.buckets() + " n-gram bucket rows (rows " + layout.wordRows() + " to "
                            + (layout.wordRows() + layout.buckets() - 1) + "), whose names are not words: copy at most "
                            + layout.wordRows() + " rows (the words) or at least " + (layout.wordRows() + layout.buckets()));
                }
            }
            fillRows(draft, spec);
            if (spec.words() != null) {
                List<byte[]> encoded = new ArrayList<>(spec.words().size());
                long bytes = 0;
                for (String w : spec.words()) {
                    byte[] utf8 = VocabularyIndex.encode(w);
                    encoded.add(utf8);
                    bytes += VocabularyIndex.recordBytes(utf8);
                }
                draft.ensureWordCapacity(bytes);
                for (int row = 0; row < encoded.size(); row++) {
                    draft.putWord(row, MemorySegment.ofArray(encoded.get(row)));
                }
            }
            draft.commit(spec.rows(), OnDuplicate.KEEP_FIRST, (word, first, duplicate) -> {
                throw new IllegalArgumentException("duplicate word '" + word + "' at rows " + first + " and " + duplicate);
            });
        }
        return EmbeddingStore.openForWriting(spec.dir());
    }

    /**
     * Starts building a store row by row, for converters and bulk loads: uses this builder's dim, dtype,
     * vocabulary and padding index, with {@code rows} (if given) as the initial capacity; words and init are not
     * used. See {@link Draft}.
     */
    public Draft draft() {
        if (dim < 0) {
            throw new IllegalArgumentException("dim not given: set dim(d)");
        }
        if (words != null) {
            throw new IllegalArgumentException("a draft takes its words through putWord, not words(list)");
        }
        return new StoreDraft(dir, dim, dtype == null ? Dtype.F32 : dtype, vocabulary, paddingIndex, Math.max(rows, 0));
    }

    Spec resolve() {
        EmbeddingStore source = init instanceof Init.CopyOf c ? c.source() : null;
        if (dim < 0 && source == null) {
            throw new IllegalArgumentException("dim not given: set dim(d) or init(Init.copyOf(store))");
        }
        int d = dim >= 0 ? dim : source.dim();
        Dtype t = dtype != null ? dtype : source != null ? source.dtype() : Dtype.F32;
        List<String> w = words;
        long r = rows >= 0 ? rows : w != null ? w.size() : source != null ? source.rows() : -1;
        if (r < 0) {
            throw new IllegalArgumentException("rows not given: set rows(n), words(list) or init(Init.copyOf(store))");
        }
        if (source != null) {
            if (d != source.dim()) {
                throw new IllegalArgumentException("dim " + d + " differs from the source store's " + source.dim());
            }
            if (r > source.rows()) {
                throw new IllegalArgumentException("rows " + r + " exceeds the source store's " + source.rows());
            }
            if (w == null && vocabulary && source.hasVocabulary()) {
                List<String> copied = new ArrayList<>((int) r);
                for (long i = 0; i < r; i++) {
                    copied.add(source.word(i));
                }
                w = copied;
            }
        }
        if (w != null && !vocabulary) {
            throw new IllegalArgumentException("words were given for a store without a vocabulary");
        }
        if (w != null && r != w.size()) {
            throw new IllegalArgumentException("rows " + r + " differs from the " + w.size() + " words given");
        }
        if (vocabulary && w == null && r > 0) {
            throw new IllegalArgumentException("a store with a vocabulary needs words(list) for its " + r
                    + " rows, or vocabulary(false) for an id-indexed table");
        }
        if (paddingIndex >= r) {
            throw new IllegalArgumentException("paddingIndex " + paddingIndex + " is outside [0, " + r + ")");
        }
        return new Spec(dir, r, d, t, vocabulary ? (w == null ? List.of() : w) : null, paddingIndex, init);
    }

    /** A checked creation request. */
    record Spec(Path dir, long rows, int dim, Dtype dtype, List<String> words, long paddingIndex, Init init) {
    }

    private static void fillRows(Draft draft, Spec spec) {
        int dim = spec.dim();
        switch (spec.init()) {
            case Init.Zeros z -> {
                // The file reads as zeros already: its blocks were reserved, never written.
            }
            case Init.CopyOf c -> {
                float[] row = new float[dim];
                for (long r = 0; r < spec.rows(); r++) {
                    c.source().read(r, row);
                    draft.putRow(r, row, 0);
                }
            }
            case Init.Normal n -> fillRandom(draft, spec, n.seed(), (rnd, out) -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) (n.mean() + n.std() * rnd.nextGaussian());
                }
            });
            case Init.Uniform u -> fillRandom(draft, spec, u.seed(), (rnd, out) -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) (u.low() + (u.high() - u.low()) * rnd.nextDouble());
                }
            });
        }
    }

    private interface RowDraw {
        void draw(SplittableRandom random, float[] out);
    }

    /** Rows are drawn in blocks of 1024, each block from its own generator seeded by (seed, block): any thread count gives the same table. */
    private static void fillRandom(Draft draft, Spec spec, long seed, RowDraw draw) {
        final int block = 1024;
        long blocks = (spec.rows() + block - 1) / block;
        LongStream.range(0, blocks).parallel().forEach(b -> {
            SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + b);
            float[] row = new float[spec.dim()];
            long end = Math.min(spec.rows(), (b + 1) * block);
            for (long r = b * block; r < end; r++) {
                draw.draw(random, row);
                draft.putRow(r, row, 0);
            }
        });
    }
}
