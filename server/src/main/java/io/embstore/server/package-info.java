/**
 * {@code embstore serve}: the tables over HTTP/1.1 and HTTP/2 (h2c), JSON and {@code .npy} bodies (docs/SERVER.md).
 *
 * <p>{@link io.embstore.server.EmbeddingServer} is the one public type. The server is one more reader of each store:
 * it maps each table once, reads rows consistently (the store's seqlock) and refreshes a table when its writer's
 * generation moved, so appended rows appear. Helidon SE's WebServer (virtual threads) carries the HTTP; Jackson's
 * streaming parser reads the request bodies strictly, and every failure, whatever the input, is a JSON error with a
 * 4xx status.
 */
package io.embstore.server;
