package io.embstore.index;

/**
 * How {@link AnnIndex#build} builds the graph.
 *
 * @param m       neighbours kept per node (the graph's degree): more gives better recall at a given {@code ef} and a
 *                larger, slower build; 16 halves the index, at some recall
 * @param beam    candidates considered while inserting each node (efConstruction): more gives a better graph and a
 *                slower build
 * @param threads build threads
 */
public record AnnIndexOptions(int m, int beam, int threads) {
    /**
     * The default M, 32. jvector's graph has one layer, whose degree is M; an HNSW graph (FAISS', Lucene's) keeps 2M
     * edges in its bottom layer, so M 32 here has the bottom-layer degree of HNSW's M 16. On the real-grown 200K x 300
     * table, against FAISS at M 16 in the same runs, M 32 answered at equal recall about 1.3x as many queries per CPU
     * second as M 16 (recall 0.978: ef 16 at M 32, ef 48 at M 16), 1.04-1.35x FAISS' over recall 0.965-0.994 where
     * M 16 gave 0.8-1.05x; it built as fast as M 16 (0.7-1.2x FAISS' time on the loaded machine); the index is twice
     * the size (136 bytes a row, not 72). benchmarks/results/ann.md, "2026-12-04: embstore M 32 against FAISS M 16".
     */
    public static final int DEFAULT_M = 32;
    /** The default beam width. */
    public static final int DEFAULT_BEAM = 100;

    /**
     * @throws IllegalArgumentException naming the value out of range
     */
    public AnnIndexOptions {
        if (m < 2 || m > 512) {
            throw new IllegalArgumentException("m must be from 2 to 512: m=" + m);
        }
        if (beam < 1 || beam > 10_000) {
            throw new IllegalArgumentException("beam must be from 1 to 10000: beam=" + beam);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1: threads=" + threads);
        }
    }

    /** M = {@value #DEFAULT_M}, beam {@value #DEFAULT_BEAM}, one thread per available processor. */
    public static AnnIndexOptions defaults() {
        return new AnnIndexOptions(DEFAULT_M, DEFAULT_BEAM, Runtime.getRuntime().availableProcessors());
    }

    public AnnIndexOptions withM(int newM) {
        return new AnnIndexOptions(newM, beam, threads);
    }

    public AnnIndexOptions withBeam(int newBeam) {
        return new AnnIndexOptions(m, newBeam, threads);
    }

    public AnnIndexOptions withThreads(int newThreads) {
        return new AnnIndexOptions(m, beam, newThreads);
    }
}
