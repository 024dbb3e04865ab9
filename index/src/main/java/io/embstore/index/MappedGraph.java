package io.embstore.index;

import io.github.jbellis.jvector.graph.GraphIndex;
import io.github.jbellis.jvector.graph.NodesIterator;
import io.github.jbellis.jvector.util.Bits;
import io.embstore.store.EmbeddingStore;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.stream.IntStream;

/**
 * The adjacency lists of {@code ann.index} as a jvector {@link GraphIndex}, read in place from the read-only mapping:
 * jvector's searcher walks it, nothing is loaded. Every list is checked as it is read (its count and ids in range), so
 * a damaged file is a {@link io.embstore.store.StoreException} naming it, never an index error inside jvector.
 */
final class MappedGraph implements GraphIndex {
    private final MemorySegment file;
    private final Path path;
    private final long adjacency;
    private final int rows;
    private final int degree;
    private final int entry;
    /** The store whose rows the walk scores next (their first bytes are touched ahead: see prefetch). */
    private final EmbeddingStore store;

    MappedGraph(MemorySegment file, Path path, long adjacencyOffset, int rows, int degree, int entry,
                EmbeddingStore store) {
        this.store = store;
        this.file = file;
        this.path = path;
        this.adjacency = adjacencyOffset;
        this.rows = rows;
        this.degree = degree;
        this.entry = entry;
    }

    @Override
    public int size() {
        return rows;
    }

    @Override
    public NodesIterator getNodes() {
        return NodesIterator.fromPrimitiveIterator(IntStream.range(0, rows).iterator(), rows);
    }

    @Override
    public View getView() {
        return new MappedView();
    }

    @Override
    public int maxDegree() {
        return degree;
    }

    @Override
    public long ramBytesUsed() {
        return 64; // the lists stay in the mapping
    }

    @Override
    public void close() {
        // The mapping belongs to the AnnIndex that opened it.
    }

    /** One searcher's view: a reusable array for the list being read. */
    private final class MappedView implements View {
        private final int[] neighbors = new int[degree];
        /** Keeps the prefetching loads from being dropped as dead code. */
        private int sink;

        @Override
        public NodesIterator getNeighborsIterator(int node) {
            long at = adjacency + (long) node * (1 + degree) * Integer.BYTES;
            int count = file.get(AnnFile.INT, at);
            if (count < 0 || count > degree) {
                throw AnnFile.corrupt(path, "node " + node + " has " + count + " neighbours, more than the "
                        + degree + " slots of a list");
            }
            for (int i = 0; i < count; i++) {
                int n = file.get(AnnFile.INT, at + (1L + i) * Integer.BYTES);
                if (n < 0 || n >= rows) {
                    throw AnnFile.corrupt(path, "node " + node + " names neighbour " + n + ", outside the "
                            + rows + " rows of the graph");
                }
                neighbors[i] = n;
            }
            prefetch(count);
            return new NodesIterator.ArrayNodesIterator(neighbors, count);
        }

        /**
         * Touches the first and last byte of every neighbour's row before the walk scores them one by one: the loads
         * are independent, so their cache and TLB misses overlap instead of each row's copy waiting for its own. About
         * 5-8% less CPU a query at ef 32 on 50K x 300 (a table in the last-level cache half the time; more rows, more
         * misses to overlap). Through {@link EmbeddingStore#touchRows}, which allocates nothing: a {@code rowSegment}
         * per neighbour (two segment objects each) took 9% of a query's CPU at ef 16, M 32 on 200K x 300 (JFR,
         * benchmarks/results/ann.md).
         */
        private void prefetch(int count) {
            sink = store.touchRows(neighbors, count);
        }

        @Override
        public int size() {
            return rows;
        }

        @Override
        public int entryNode() {
            return entry;
        }

        @Override
        public Bits liveNodes() {
            return Bits.ALL;
        }

        @Override
        public void close() {
        }
    }
}
