package io.embstore.cli;

import io.embstore.index.AnnIndex;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import java.util.Locale;

/**
 * What {@code info} and {@code verify} say of a store's approximate-neighbour index: none, whole (with when it was
 * built and how many rows changed since), or damaged (why). Opening the index checks all of it (its checksums, that it
 * is this store's), so both commands ask the same question.
 *
 * @param present  whether the store directory holds an index file
 * @param problem  what is wrong with it, or null
 * @param rows     rows the graph covers
 * @param m        the build's M
 * @param generation the store generation it was built at
 * @param changed  rows written or appended since
 * @param bytes    the file's size
 */
record AnnIndexStatus(boolean present, String problem, long rows, int m, long generation, long changed, long bytes) {
    static AnnIndexStatus of(EmbeddingStore table) {
        if (!AnnIndex.exists(table)) {
            return new AnnIndexStatus(false, null, 0, 0, 0, 0, 0);
        }
        try (AnnIndex index = AnnIndex.open(table)) {
            return new AnnIndexStatus(true, null, index.rowsCovered(), index.m(), index.builtAtGeneration(),
                    index.changedRowsSinceBuild(), index.fileBytes());
        } catch (StoreException e) {
            if (e.kind() == StoreException.Kind.NOT_FOUND) {
                return new AnnIndexStatus(false, null, 0, 0, 0, 0, 0); // removed since exists() looked
            }
            return new AnnIndexStatus(true, e.getMessage(), 0, 0, 0, 0, 0);
        }
    }

    /** One line for people. */
    String text() {
        if (!present) {
            return "none (embstore index STORE builds one, for similar --approx)";
        }
        if (problem != null) {
            return "damaged: " + problem;
        }
        return String.format(Locale.ROOT, "built at generation %d over %,d rows (M %d, %s), %,d rows changed since%s",
                generation, rows, m, InfoCommand.humanBytes(bytes), changed,
                changed == 0 ? "" : " (checked exactly; embstore index folds them in)");
    }

    /** A JSON value: null when there is no index. */
    String json() {
        if (!present) {
            return "null";
        }
        if (problem != null) {
            return "{\"ok\":false,\"problem\":" + JsonText.string(problem) + "}";
        }
        return "{\"ok\":true,\"built_at_generation\":" + generation + ",\"rows\":" + rows + ",\"m\":" + m
                + ",\"changed_rows\":" + changed + ",\"bytes\":" + bytes + "}";
    }
}
