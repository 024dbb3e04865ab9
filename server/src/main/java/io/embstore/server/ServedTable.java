package io.embstore.server;

import com.fasterxml.jackson.core.JsonGenerator;
import io.embstore.store.EmbeddingStore;
import java.io.IOException;

/**
 * One table the server was started with: its name in the API and the store, opened read-only once for the server's
 * life. Before a request reads it, {@link #fresh()} picks up what a writer appended since the last request.
 */
final class ServedTable {
    private final String name;
    private final EmbeddingStore store;
    /** The writer's generation this object last refreshed at; -1 before the first request. */
    private volatile long refreshedAt = -1;

    ServedTable(String name, EmbeddingStore store) {
        this.name = name;
        this.store = store;
    }

    String name() {
        return name;
    }

    /**
     * The store, refreshed when the writer's generation moved since the last call (one read of the mapped control
     * block when it did not). The generation is read before the refresh, so everything published up to it is seen.
     */
    EmbeddingStore fresh() {
        long generation = store.generation();
        if (generation != refreshedAt) {
            synchronized (this) {
                if (generation != refreshedAt) {
                    store.refresh();
                    refreshedAt = generation;
                }
            }
        }
        return store;
    }

    /** The TABLE object of docs/SERVER.md. */
    void describe(JsonGenerator json) throws IOException {
        EmbeddingStore s = fresh();
        long rows = s.rows();
        json.writeStartObject();
        json.writeStringField("name", name);
        json.writeNumberField("rows", rows);
        json.writeNumberField("dim", s.dim());
        json.writeStringField("dtype", s.dtype().label());
        json.writeNumberField("generation", s.generation());
        json.writeBooleanField("vocabulary", s.hasVocabulary());
        json.writeNumberField("words", s.hasVocabulary() ? rows : 0);
        json.writeNumberField("padding_index", s.paddingIndex());
        json.writeEndObject();
    }

    void close() {
        store.close();
    }
}
