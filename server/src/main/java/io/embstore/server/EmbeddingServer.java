package io.embstore.server;

import io.embstore.store.EmbeddingStore;
import io.helidon.common.socket.SocketOptions;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http2.Http2Config;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An HTTP server for embedding tables: {@code embstore serve} (docs/SERVER.md has the API). HTTP/1.1 and HTTP/2
 * cleartext (h2c) on one port, every request on its own virtual thread.
 *
 * <pre>{@code
 * try (EmbeddingServer server = EmbeddingServer.builder()
 *         .table("glove", Path.of("glove300"))
 *         .port(0)
 *         .build()
 *         .start()) {
 *     URI uri = URI.create("http://127.0.0.1:" + server.port() + "/v1/tables");
 *     ...
 * }
 * }</pre>
 *
 * <p>The tables are opened read-only by {@link Builder#build()} and closed by {@link #close()}, which first lets the
 * requests in flight finish. A server that binds anything but a loopback address needs a token (or, explicitly,
 * {@link Builder#insecure(boolean)}).
 */
public final class EmbeddingServer implements AutoCloseable {
    /** What a table name may be: it appears in URLs and metric labels as it is. */
    public static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final Map<String, ServedTable> tables;
    private final String host;
    private final InetAddress address;
    private final int requestedPort;
    private final Duration readTimeout;
    private final Duration shutdownGrace;
    private final ApiHandler handler;
    private final Object lifecycle = new Object();
    private WebServer webServer;
    private boolean closed;

    private EmbeddingServer(Builder b, Map<String, ServedTable> tables, InetAddress address) {
        this.tables = tables;
        this.host = b.host;
        this.address = address;
        this.requestedPort = b.port;
        this.readTimeout = b.readTimeout;
        this.shutdownGrace = b.shutdownGrace;
        this.handler = new ApiHandler(tables, b.token, b.maxInFlight, b.maxBodyBytes, b.maxBatch,
                b.readTimeout.toNanos(), new ServerMetrics());
    }

    /** Starts describing a server. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds the port and starts answering; returns this server.
     *
     * @throws java.io.UncheckedIOException or Helidon's exception when the address cannot be bound (port in use)
     */
    public EmbeddingServer start() {
        synchronized (lifecycle) {
            if (closed || webServer != null) {
                throw new IllegalStateException("a server starts once");
            }
            DirectHandler jsonErrors = (request, eventType, status, headers, message) ->
                    DirectHandler.TransportResponse.builder()
                            .status(status)
                            .headers(headers)
                            .header(HeaderNames.CONTENT_TYPE, ApiHandler.JSON)
                            .entity(ApiHandler.errorJson(status.code(),
                                    status.code() == 413 ? "payload_too_large" : status.code() >= 500 ? "internal"
                                            : "bad_request",
                                    message == null || message.isBlank() ? status.reasonPhrase() : message))
                            .build();
            DirectHandlers.Builder direct = DirectHandlers.builder();
            for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
                direct.addHandler(type, jsonErrors);
            }
            webServer = WebServer.builder()
                    .address(address)
                    .port(requestedPort)
                    // This object stops the server (close()); Helidon's own hook would stop it under our feet.
                    .shutdownHook(false)
                    .shutdownGracePeriod(shutdownGrace)
                    .connectionOptions(SocketOptions.builder().readTimeout(readTimeout).build())
                    .idleConnectionTimeout(readTimeout)
                    // Idle connections are looked for this often (Helidon's default, 2 minutes, would let a silent
                    // connection live 2 minutes past its timeout).
                    .idleConnectionPeriod(readTimeout.dividedBy(2))
                    // Bodies are limited and answered by ApiHandler (JSON errors); Helidon's own limit stays off.
                    .maxPayloadSize(-1)
                    .directHandlers(direct.build())
                    .addProtocol(Http1Config.create())
                    .addProtocol(Http2Config.create())
                    .routing(HttpRouting.builder().any(handler))
                    .build()
                    .start();
            return this;
        }
    }

    /** The port the server listens on (the one the system chose when built with port 0). */
    public int port() {
        synchronized (lifecycle) {
            if (webServer == null) {
                throw new IllegalStateException("the server is not started");
            }
            return webServer.port();
        }
    }

    /** The host (name or address) the server binds, as given to the builder. */
    public String host() {
        return host;
    }

    /** The names of the tables served, in the order given. */
    public List<String> tableNames() {
        return List.copyOf(tables.keySet());
    }

    /**
     * Stops gracefully: new requests are refused (503), those in flight may finish for up to the shutdown grace
     * period (10 s unless set), then the port is closed and the tables are closed. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (webServer != null) {
                    handler.drain();
                    long deadline = System.nanoTime() + shutdownGrace.toNanos();
                    while (handler.inFlight() > 0 && System.nanoTime() - deadline < 0) {
                        try {
                            Thread.sleep(10);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                    webServer.stop();
                }
            } finally {
                handler.close();
                for (ServedTable t : tables.values()) {
                    t.close();
                }
            }
        }
    }

    /** How to build an {@link EmbeddingServer}. */
    public static final class Builder {
        private final Map<String, Path> tables = new LinkedHashMap<>();
        private String host = "127.0.0.1";
        private int port = 8080;
        private String token;
        private boolean insecure;
        private int maxInFlight = 256;
        private long maxBodyBytes = 16L << 20;
        private int maxBatch = 100_000;
        private Duration readTimeout = Duration.ofSeconds(30);
        private Duration shutdownGrace = Duration.ofSeconds(10);

        private Builder() {
        }

        /**
         * Serves the store at {@code dir} as table {@code name}.
         *
         * @throws IllegalArgumentException if the name is not of {@link #TABLE_NAME} or is already taken
         */
        public Builder table(String name, Path dir) {
            Objects.requireNonNull(dir, "dir");
            if (name == null || !TABLE_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("table name '" + name + "' must match " + TABLE_NAME.pattern()
                        + " (letters, digits, '.', '_', '-'; at most 64)");
            }
            if (tables.putIfAbsent(name, dir) != null) {
                throw new IllegalArgumentException("two tables are named '" + name + "' (" + tables.get(name) + " and "
                        + dir + "): name one of them with NAME=PATH");
            }
            return this;
        }

        /** The host name or address to bind; default 127.0.0.1. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** The port; 0 lets the system choose (see {@link #port()}). Default 8080. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be from 0 to 65535, found " + port);
            }
            this.port = port;
            return this;
        }

        /** The bearer token every request but GET /healthz must carry; null (the default) for none. */
        public Builder token(String token) {
            if (token != null && token.length() < 16) {
                throw new IllegalArgumentException("the token must have at least 16 characters, found "
                        + token.length());
            }
            this.token = token;
            return this;
        }

        /** Allows a non-loopback address without a token. Default false. */
        public Builder insecure(boolean insecure) {
            this.insecure = insecure;
            return this;
        }

        /** Most requests handled at once; more are refused with 503 and Retry-After: 1. Default 256. */
        public Builder maxInFlight(int maxInFlight) {
            this.maxInFlight = positive("maxInFlight", maxInFlight);
            return this;
        }

        /** Largest request body, in bytes; larger ones are refused with 413. Default 16 MiB. */
        public Builder maxBodyBytes(long maxBodyBytes) {
            if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("maxBodyBytes must be from 1 to " + (Integer.MAX_VALUE - 16)
                        + ", found " + maxBodyBytes);
            }
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        /** Most words or ids in one lookup (and values in a similar query's arrays). Default 100,000. */
        public Builder maxBatch(int maxBatch) {
            this.maxBatch = positive("maxBatch", maxBatch);
            return this;
        }

        /**
         * How long a connection may be silent (a read waiting for bytes, an idle kept-alive connection), and the
         * longest a request body may take to arrive in all. Default 30 s.
         */
        public Builder readTimeout(Duration readTimeout) {
            if (readTimeout.isNegative() || readTimeout.isZero()) {
                throw new IllegalArgumentException("readTimeout must be positive, found " + readTimeout);
            }
            this.readTimeout = readTimeout;
            return this;
        }

        /** How long {@link #close()} lets requests in flight finish. Default 10 s. */
        public Builder shutdownGrace(Duration shutdownGrace) {
            if (shutdownGrace.isNegative()) {
                throw new IllegalArgumentException("shutdownGrace must not be negative, found " + shutdownGrace);
            }
            this.shutdownGrace = shutdownGrace;
            return this;
        }

        private static int positive(String what, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(what + " must be 1 or more, found " + value);
            }
            return value;
        }

        /**
         * Checks the address and opens every table read-only (a store that cannot be opened closes those already
         * opened and throws its {@link io.embstore.store.StoreException}).
         *
         * @throws IllegalArgumentException with no table, a host that does not resolve, or a non-loopback host
         *                                  without a token or {@link #insecure(boolean)}
         */
        public EmbeddingServer build() {
            if (tables.isEmpty()) {
                throw new IllegalArgumentException("no table to serve");
            }
            InetAddress address;
            try {
                address = InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("host '" + host + "' does not resolve: " + e.getMessage(), e);
            }
            if (!address.isLoopbackAddress() && token == null && !insecure) {
                throw new IllegalArgumentException("binding " + host + " (not a loopback address) exposes the tables"
                        + " to other machines: give a token (--token-file FILE) or say --insecure");
            }
            Map<String, ServedTable> opened = new LinkedHashMap<>();
            List<EmbeddingStore> stores = new ArrayList<>();
            try {
                for (Map.Entry<String, Path> e : tables.entrySet()) {
                    EmbeddingStore store = EmbeddingStore.open(e.getValue());
                    stores.add(store);
                    opened.put(e.getKey(), new ServedTable(e.getKey(), store));
                }
            } catch (RuntimeException e) {
                for (EmbeddingStore s : stores) {
                    s.close();
                }
                throw e;
            }
            return new EmbeddingServer(this, Collections.unmodifiableMap(opened), address);
        }
    }
}
