package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** Prints nearest neighbours as aligned text ({@code word  0.8123}) or as a JSON array. */
final class NeighborPrinter {
    private NeighborPrinter() {
    }

    static void text(PrintWriter out, List<Neighbor> neighbors) {
        int width = 0;
        for (Neighbor n : neighbors) {
            width = Math.max(width, label(n).length());
        }
        for (Neighbor n : neighbors) {
            out.printf(Locale.ROOT, "%-" + Math.max(1, width) + "s  %.4f%n", label(n), n.similarity());
        }
    }

    static String json(List<Neighbor> neighbors) {
        StringBuilder b = new StringBuilder("[");
        for (Neighbor n : neighbors) {
            b.append(b.length() > 1 ? "," : "").append("{\"row\":").append(n.row());
            if (n.word() != null) {
                b.append(",\"word\":").append(JsonText.string(n.word()));
            }
            b.append(",\"similarity\":").append(JsonText.number(n.similarity())).append('}');
        }
        return b.append(']').toString();
    }

    private static String label(Neighbor n) {
        return n.word() != null ? n.word() : Long.toString(n.row());
    }

    /** The {@code -k} of the query commands, checked. */
    static int checkedK(int k) {
        if (k < 1) {
            throw new UserError(ExitCode.USAGE, "-k must be 1 or more, found " + k);
        }
        return k;
    }

    /** A word the store lacks: a one-line "not found" error. */
    static UserError notInVocabulary(String word, EmbeddingStore table) {
        return new UserError(ExitCode.NOT_FOUND, "'" + word + "' is not in the vocabulary of " + table.path());
    }

    /** Fails with {@link #notInVocabulary} for the first of {@code words} the store lacks. */
    static void requireWords(EmbeddingStore table, String... words) {
        if (!table.hasVocabulary()) {
            throw new UserError(ExitCode.USER_ERROR, table.path() + " has no vocabulary: it is an id-indexed table");
        }
        for (String w : words) {
            if (!table.contains(w)) {
                throw notInVocabulary(w, table);
            }
        }
    }
}
