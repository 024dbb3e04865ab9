package io.embstore.index;

/**
 * How {@link AnnIndex#build} builds the graph.
 *
 * @param m       neighbours kept per node (the graph's degree): more gives better recall at a given {@code ef} and a
 *                larger, slower build; 16 suits most tables, 32 high-dimensional ones
 * @param beam    candidates considered while inserting each node (efConstruction): more gives a better graph and a
 *                slower build
 * @param threads build threads
 */
public record AnnIndexOptions(int m, int beam, int threads) {
    /** The default M. */
    public static final int DEFAULT_M = 16;
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
