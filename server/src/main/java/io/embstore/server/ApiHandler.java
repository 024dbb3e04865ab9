package io.embstore.server;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.StoreException;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Every request of the API: routing, the bearer token, the in-flight limit, the body limit, the endpoints, the
 * metrics, and the JSON error for any failure. One handler for every path and method (rather than Helidon's routes)
 * so that an unknown path, a wrong method and a refused request all answer the same JSON errors.
 */
final class ApiHandler implements Handler {
    static final HeaderName GENERATION = HeaderNames.create("X-Embstore-Generation");
    static final HeaderName MISSING = HeaderNames.create("X-Embstore-Missing");
    static final String JSON = "application/json";
    static final String NPY = "application/x-npy";

    private static final System.Logger LOG = System.getLogger(ApiHandler.class.getName());
    private static final JsonFactory JSON_OUT = new JsonFactory();
    private static final byte[] HEALTHY = "{\"status\":\"ok\"}".getBytes(StandardCharsets.US_ASCII);

    private final Map<String, ServedTable> tables;
    private final byte[] token;
    private final Semaphore permits;
    private final long maxBodyBytes;
    private final int maxBatch;
    private final long bodyTimeoutNanos;
    private final ServerMetrics metrics;
    private final AnswerBuffers answerBuffers = new AnswerBuffers();
    /**
     * Cuts off bodies that arrive too slowly: it interrupts the request's virtual thread at the deadline, which closes
     * the socket the thread is blocked reading (Helidon applies no read timeout to a request body).
     */
    private final ScheduledExecutorService bodyDeadlines = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("embstore-body-deadline").factory());
    private volatile boolean draining;

    ApiHandler(Map<String, ServedTable> tables, String token, int maxInFlight, long maxBodyBytes, int maxBatch,
               long bodyTimeoutNanos, ServerMetrics metrics) {
        this.tables = tables;
        this.token = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.permits = new Semaphore(maxInFlight);
        this.maxBodyBytes = maxBodyBytes;
        this.maxBatch = maxBatch;
        this.bodyTimeoutNanos = bodyTimeoutNanos;
        this.metrics = metrics;
    }

    /** From now on new requests are refused with 503 (the server is stopping); those in flight go on. */
    void drain() {
        draining = true;
    }

    /** Stops the body deadline thread. */
    void close() {
        bodyDeadlines.shutdownNow();
    }

    /** Requests being handled, for the graceful stop. */
    int inFlight() {
        return metrics.inFlight();
    }

    /** What a path names: the endpoint (its label in the metrics) and the table, if any. */
    private record Route(String endpoint, String table, String allow) {
        static final Route UNKNOWN = new Route("unknown", null, null);

        static Route of(String path) {
            switch (path) {
                case "/healthz":
                    return new Route("healthz", null, "GET, HEAD");
                case "/metrics":
                    return new Route("metrics", null, "GET, HEAD");
                case "/v1/tables":
                    return new Route("tables", null, "GET, HEAD");
                default:
                    break;
            }
            String prefix = "/v1/tables/";
            if (!path.startsWith(prefix)) {
                return UNKNOWN;
            }
            String rest = path.substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                return rest.isEmpty() ? UNKNOWN : new Route("table", rest, "GET, HEAD");
            }
            String name = rest.substring(0, slash);
            return switch (rest.substring(slash + 1)) {
                case "lookup" -> name.isEmpty() ? UNKNOWN : new Route("lookup", name, "POST");
                case "similar" -> name.isEmpty() ? UNKNOWN : new Route("similar", name, "POST");
                default -> UNKNOWN;
            };
        }

        boolean allows(Method method) {
            String m = method.text();
            return allow.equals("POST") ? m.equals("POST") : m.equals("GET") || m.equals("HEAD");
        }
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        // The raw path: a table name is matched as it was sent, never decoded or resolved as a path.
        Route route = Route.of(req.path().rawPathNoParams());
        boolean counted = !route.endpoint().equals("healthz");
        int status;
        if (counted) {
            metrics.entered();
        }
        try {
            status = answer(req, res, route, counted);
        } catch (ApiException e) {
            status = sendError(res, e.status(), e.kind(), e.getMessage());
        } catch (StoreException e) {
            // The store's own trouble (a damaged row, an I/O error of a mapped file): not the request's fault.
            status = sendError(res, 500, "store_error", e.getMessage());
        } catch (OutOfMemoryError e) {
            // Many large answers at once can outgrow the heap: the request may succeed later, the server goes on.
            res.header(HeaderNames.CONNECTION, "close");
            status = sendError(res, 503, "overloaded", "not enough memory for this answer now: retry, or ask for"
                    + " fewer rows per request");
        } catch (RuntimeException | IOException | Error e) {
            if (e instanceof Error && !(e instanceof InternalError)) {
                throw (Error) e;
            }
            LOG.log(System.Logger.Level.ERROR, "internal error answering " + req.prologue().method().text() + " "
                    + RequestJson.abbreviate(req.path().rawPath()), e);
            status = sendError(res, 500, "internal", "internal error (" + e.getClass().getSimpleName()
                    + "); the server's log has the details");
        } finally {
            if (counted) {
                metrics.left();
            }
        }
        metrics.answered(route.endpoint(), status, System.nanoTime() - start);
    }

    private int answer(ServerRequest req, ServerResponse res, Route route, boolean counted) throws IOException {
        if (draining) {
            res.header(HeaderNames.CONNECTION, "close");
            throw overloaded("the server is shutting down");
        }
        boolean acquired = counted && permits.tryAcquire();
        if (counted && !acquired) {
            throw overloaded("too many requests in flight (the server's --max-in-flight)");
        }
        try {
            if (route.endpoint().equals("healthz")) {
                requireMethod(req, route, res);
                return send(res, 200, JSON, HEALTHY);
            }
            authorize(req);
            if (route == Route.UNKNOWN) {
                throw ApiException.notFound("no such endpoint: " + RequestJson.abbreviate(req.path().rawPath())
                        + " (see docs/SERVER.md)");
            }
            requireMethod(req, route, res);
            return switch (route.endpoint()) {
                case "metrics" -> send(res, 200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics.text().getBytes(StandardCharsets.UTF_8));
                case "tables" -> tablesList(req, res);
                case "table" -> tableInfo(req, res, table(route));
                case "lookup" -> lookup(req, res, table(route));
                case "similar" -> similar(req, res, table(route));
                default -> throw new IllegalStateException("unrouted endpoint " + route.endpoint());
            };
        } finally {
            if (acquired) {
                permits.release();
            }
        }
    }

    private static ApiException overloaded(String message) {
        return new ApiException(503, "overloaded", message);
    }

    private void authorize(ServerRequest req) {
        if (token == null) {
            return;
        }
        byte[] given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("").getBytes(StandardCharsets.UTF_8);
        // Constant time in the token's content: the comparison does not stop at the first differing byte.
        if (!MessageDigest.isEqual(given, token)) {
            throw new ApiException(401, "unauthorized", "this server needs the header 'Authorization: Bearer TOKEN'"
                    + " with the token of its --token-file");
        }
    }

    private static void requireMethod(ServerRequest req, Route route, ServerResponse res) {
        if (!route.allows(req.prologue().method())) {
            res.header(HeaderNames.ALLOW, route.allow());
            throw new ApiException(405, "method_not_allowed", RequestJson.abbreviate(req.prologue().method().text())
                    + " is not allowed on " + RequestJson.abbreviate(req.path().rawPath()) + ": use " + route.allow());
        }
    }

    private ServedTable table(Route route) {
        ServedTable t = tables.get(route.table());
        if (t == null) {
            throw ApiException.notFound("no table named '" + RequestJson.abbreviate(route.table()) + "' (tables: "
                    + String.join(", ", tables.keySet()) + ")");
        }
        return t;
    }

    private int tablesList(ServerRequest req, ServerResponse res) throws IOException {
        requireJsonAccepted(req);
        ByteArrayBuilder out = new ByteArrayBuilder();
        try (JsonGenerator json = JSON_OUT.createGenerator(out, JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeArrayFieldStart("tables");
            for (ServedTable t : tables.values()) {
                t.describe(json);
            }
            json.writeEndArray();
            json.writeEndObject();
        }
        return send(res, 200, JSON, out.toByteArray());
    }

    private int tableInfo(ServerRequest req, ServerResponse res, ServedTable table) throws IOException {
        requireJsonAccepted(req);
        ByteArrayBuilder out = new ByteArrayBuilder();
        try (JsonGenerator json = JSON_OUT.createGenerator(out, JsonEncoding.UTF8)) {
            table.describe(json);
        }
        return send(res, 200, JSON, out.toByteArray());
    }

    private int lookup(ServerRequest req, ServerResponse res, ServedTable table) throws IOException {
        boolean npy = wantsNpy(req);
        Body body = readJsonBody(req);
        RequestJson.Lookup request = RequestJson.lookup(body.bytes(), body.length(), maxBatch);
        EmbeddingStore s = table.fresh();
        if (npy) {
            return lookupNpy(req, res, table, s, request);
        }
        ByteArrayBuilder out = new ByteArrayBuilder();
        TableEndpoints.Gathered gathered;
        try (JsonGenerator json = JSON_OUT.createGenerator(out, JsonEncoding.UTF8)) {
            gathered = TableEndpoints.json(table, s, request, json);
        }
        metrics.rowsServed(table.name(), gathered.count());
        res.header(GENERATION, Long.toString(gathered.generation()));
        return send(res, 200, JSON, out.toByteArray());
    }

    /**
     * Largest .npy answer built in a fresh array and sent with send(byte[]) (which copies it, to put the HTTP headers
     * in front). A larger one is gathered into a reused array and written as its .npy header (copied, with the HTTP
     * headers) and then its rows, which Helidon passes to the socket without copying. Measured (server CPU per row,
     * 16 clients, alternating runs): at 1024 rows (1.2 MB) that saves 8%; at 64 rows (77 KB) it cost 5-8% more
     * (in one write or two), so small answers keep the plain path.
     */
    static final int ONE_WRITE_BYTES = 256 << 10;

    /** The .npy answer: a version 1.0 header padded to 64 bytes, then the float32 rows in native order. */
    private int lookupNpy(ServerRequest req, ServerResponse res, ServedTable table, EmbeddingStore s,
            RequestJson.Lookup request) {
        int n = request.size();
        int dim = s.dim();
        TableEndpoints.checkAnswerSize(table.name(), n, dim, true);
        byte[] header = TableEndpoints.npyHeader(n, dim);
        int rowBytes = Math.toIntExact((long) n * dim * Float.BYTES);
        int total = Math.addExact(header.length, rowBytes);
        boolean large = total > ONE_WRITE_BYTES;
        // HTTP/1 writes are synchronous (Helidon's write queue is off), so the array is free again when the last
        // write returns; an HTTP/2 stream's frames may still be queued then, so its array is never reused.
        boolean reuse = large && !req.prologue().protocolVersion().startsWith("2");
        byte[] answer = reuse ? answerBuffers.take(total) : new byte[total];
        try {
            System.arraycopy(header, 0, answer, 0, header.length);
            TableEndpoints.Gathered gathered = TableEndpoints.gather(table, s, request,
                    MemorySegment.ofArray(answer).asSlice(header.length, rowBytes));
            if (gathered.missing().length > 0) {
                StringBuilder missing = new StringBuilder();
                for (int p : gathered.missing()) {
                    missing.append(missing.isEmpty() ? "" : ",").append(p);
                }
                res.header(MISSING, missing.toString());
            }
            metrics.rowsServed(table.name(), gathered.count());
            res.header(GENERATION, Long.toString(gathered.generation()));
            if (!large) {
                return send(res, 200, NPY, answer);
            }
            res.status(200);
            res.header(HeaderNames.CONTENT_TYPE, NPY);
            res.header(HeaderNames.CONTENT_LENGTH, Integer.toString(total));
            try (OutputStream out = res.outputStream()) {
                out.write(answer, 0, header.length);
                out.write(answer, header.length, rowBytes);
            } catch (IOException | RuntimeException e) {
                if (e instanceof RuntimeException r && !causedByIo(r)) {
                    throw r;
                }
                LOG.log(System.Logger.Level.DEBUG, "client gone before its answer was sent", e);
                return CLIENT_GONE;
            }
            return 200;
        } finally {
            if (reuse) {
                answerBuffers.give(answer);
            }
        }
    }

    private int similar(ServerRequest req, ServerResponse res, ServedTable table) throws IOException {
        requireJsonAccepted(req);
        Body body = readJsonBody(req);
        RequestJson.Similar request = RequestJson.similar(body.bytes(), body.length(), maxBatch);
        EmbeddingStore s = table.fresh();
        long generation = s.generation();
        ByteArrayBuilder out = new ByteArrayBuilder();
        try (JsonGenerator json = JSON_OUT.createGenerator(out, JsonEncoding.UTF8)) {
            TableEndpoints.similar(table, s, request, json);
        }
        res.header(GENERATION, Long.toString(generation));
        return send(res, 200, JSON, out.toByteArray());
    }

    // ------------------------------------------------------------------------------------------------ content types

    /** Whether a lookup answers .npy: the Accept header names it; else JSON, if Accept allows JSON. */
    private static boolean wantsNpy(ServerRequest req) {
        if (acceptedTypes(req).contains(NPY)) {
            return true;
        }
        requireJsonAccepted(req);
        return false;
    }

    private static void requireJsonAccepted(ServerRequest req) {
        List<String> accepted = acceptedTypes(req);
        if (!req.headers().contains(HeaderNames.ACCEPT) || accepted.contains(JSON) || accepted.contains("application/*")
                || accepted.contains("*/*")) {
            return;
        }
        String accept = accept(req);
        throw new ApiException(406, "not_acceptable", "cannot answer '" + RequestJson.abbreviate(accept)
                + "': this endpoint answers " + JSON + (req.path().rawPath().endsWith("/lookup") ? " or " + NPY : ""));
    }

    private static String accept(ServerRequest req) {
        return String.join(",", req.headers().values(HeaderNames.ACCEPT)).toLowerCase(Locale.ROOT);
    }

    /** The media ranges of the Accept header, lower case, without those of quality 0 ("not acceptable"). */
    private static List<String> acceptedTypes(ServerRequest req) {
        List<String> types = new ArrayList<>();
        for (String range : accept(req).split(",")) {
            String[] parts = range.split(";");
            boolean refused = false;
            for (int i = 1; i < parts.length; i++) {
                String param = parts[i].strip();
                refused |= param.startsWith("q=") && param.substring(2).strip().matches("0(\\.0{0,3})?");
            }
            if (!refused && !parts[0].isBlank()) {
                types.add(parts[0].strip());
            }
        }
        return types;
    }

    // ------------------------------------------------------------------------------------------------ body

    private record Body(byte[] bytes, int length) {
    }

    /**
     * The request body, read whole: refused with 413 from its Content-Length before a byte is read, or as soon as a
     * chunked body passes the limit; refused with 408 when it takes longer than the read timeout in all.
     */
    private Body readJsonBody(ServerRequest req) {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        String mediaType = type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        // Absent, the body is taken for JSON; present, it must say JSON (an empty or broken one does not).
        if (req.headers().contains(HeaderNames.CONTENT_TYPE) && !mediaType.equals(JSON)) {
            throw new ApiException(415, "unsupported_media_type", "the body must be " + JSON + ", not '"
                    + RequestJson.abbreviate(type) + "'");
        }
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > maxBodyBytes) {
            throw ApiException.tooLarge("the body is " + declared.getAsLong() + " bytes, more than the server's limit of "
                    + maxBodyBytes + " (--max-body-bytes)");
        }
        if (!req.content().hasEntity()) {
            return new Body(new byte[0], 0);
        }
        Thread reader = Thread.currentThread();
        ScheduledFuture<?> cutOff = bodyDeadlines.schedule(reader::interrupt, bodyTimeoutNanos, TimeUnit.NANOSECONDS);
        try {
            return readBody(req, declared);
        } finally {
            if (!cutOff.cancel(false)) {
                // The deadline fired (or is firing): wait for its interrupt, then clear it, so that it cannot hit a
                // later blocking call of this thread.
                try {
                    cutOff.get();
                } catch (Exception ignored) {
                    // Cancelled or failed: either way it interrupts no more.
                }
                Thread.interrupted();
            }
        }
    }

    private Body readBody(ServerRequest req, OptionalLong declared) {
        long deadline = System.nanoTime() + bodyTimeoutNanos;
        int initial = (int) Math.min(declared.orElse(8192), maxBodyBytes) + 1;
        byte[] buf = new byte[Math.max(initial, 16)];
        int n = 0;
        try (InputStream in = req.content().inputStream()) {
            while (true) {
                if (n == buf.length) {
                    if (n > maxBodyBytes) {
                        throw ApiException.tooLarge("the body is more than the server's limit of " + maxBodyBytes
                                + " bytes (--max-body-bytes)");
                    }
                    buf = Arrays.copyOf(buf, (int) Math.min((long) n * 2, maxBodyBytes + 1));
                }
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    break;
                }
                n += r;
                if (n > maxBodyBytes) {
                    throw ApiException.tooLarge("the body is more than the server's limit of " + maxBodyBytes
                            + " bytes (--max-body-bytes)");
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new ApiException(408, "request_timeout", "the body took longer than "
                            + bodyTimeoutNanos / 1_000_000_000 + " s to arrive");
                }
            }
        } catch (IOException | UncheckedIOException e) {
            throw unreadable(e);
        } catch (ApiException e) {
            throw e;
        } catch (RuntimeException e) {
            // Helidon's own refusals of a broken body (bad chunk framing, a closed connection) arrive as its
            // runtime exceptions: the request's fault.
            throw unreadable(e);
        }
        return new Body(buf, n);
    }

    private ApiException unreadable(Exception e) {
        if (Thread.currentThread().isInterrupted()) {
            return new ApiException(408, "request_timeout", "the body took longer than "
                    + bodyTimeoutNanos / 1_000_000_000 + " s to arrive");
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException) {
                return new ApiException(408, "request_timeout", "the body stopped arriving (read timeout)");
            }
        }
        return ApiException.badRequest("the body could not be read: " + RequestJson.abbreviate(String.valueOf(e.getMessage())));
    }

    // ------------------------------------------------------------------------------------------------ answers

    /** Status recorded for an answer the client did not stay to receive (nginx's convention; never sent). */
    static final int CLIENT_GONE = 499;

    private static int send(ServerResponse res, int status, String type, byte[] body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, type);
        try {
            res.send(body);
        } catch (RuntimeException e) {
            if (!causedByIo(e)) {
                throw e;
            }
            // The client hung up before its answer was written: its business, not an error of the server.
            LOG.log(System.Logger.Level.DEBUG, "client gone before its answer was sent", e);
            return CLIENT_GONE;
        }
        return status;
    }

    private static boolean causedByIo(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    private int sendError(ServerResponse res, int status, String kind, String message) {
        metrics.error(kind);
        if (res.isSent()) {
            return status;
        }
        if (status == 503) {
            res.header(HeaderNames.RETRY_AFTER, "1");
        }
        if (status == 413 || status == 408) {
            // The rest of an unread body is not worth reading to keep the connection.
            res.header(HeaderNames.CONNECTION, "close");
        }
        try {
            return send(res, status, JSON, errorJson(status, kind, message));
        } catch (RuntimeException e) {
            // The connection is gone (a client that hung up, a body cut off at its deadline): no one to answer.
            LOG.log(System.Logger.Level.DEBUG, "could not send a " + status + " answer", e);
            return status;
        }
    }

    /** {@code {"error": {"status": S, "kind": K, "message": M}}}. */
    static byte[] errorJson(int status, String kind, String message) {
        ByteArrayBuilder out = new ByteArrayBuilder();
        try (JsonGenerator json = JSON_OUT.createGenerator(out, JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeObjectFieldStart("error");
            json.writeNumberField("status", status);
            json.writeStringField("kind", kind);
            json.writeStringField("message", message == null ? kind : message);
            json.writeEndObject();
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
