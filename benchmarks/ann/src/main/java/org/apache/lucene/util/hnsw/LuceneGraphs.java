package org.apache.lucene.util.hnsw;

/**
 * Lucene's empty {@link OnHeapHnswGraph}, whose constructor is package-private: Lucene makes it inside its codec, and
 * the prototype ({@code io.embstore.benchmarks.ann.LibraryCompare}) builds a graph outside an index.
 */
public final class LuceneGraphs {
    private LuceneGraphs() {
    }

    public static OnHeapHnswGraph emptyGraph(int m, int nodes) {
        return new OnHeapHnswGraph(m, nodes);
    }
}
