package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;

import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The closed-loop load generator of the server benchmarks ({@code benchmarks/server/run}): C client threads, each
 * with one keep-alive connection, send a request, read the whole answer, send the next, for T seconds after W seconds
 * of untimed warm-up. One generator speaks both protocols, so the two sides get the same client: the same language,
 * the same blocking sockets with TCP_NODELAY and 64 KiB buffers, one connection per client reused for every request,
 * the same pre-encoded requests over the same batches of words (uniform over the table's rows, seed given), and answers
 * read to their last byte and checked for their size, never decoded.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.ServerLoad CMD key=value...
 *   run   proto=http|resp op=lookup|get|similar port=P store=DIR conns=C seconds=T warmup=W batch=B seed=S
 *         [host=127.0.0.1] [table=NAME] [path=/v1/tables/NAME/lookup] [by=words|ids] [k=10]
 *                         http lookup: POST {"words": [...]} (or {"ids": [...]}) with Accept: application/x-npy;
 *                         http similar: POST {"word": W, "k": K} to /v1/tables/NAME/similar (JSON answer);
 *                         resp lookup: MGET of the same words; resp get: GET of one word (batch=1)
 *   load  port=P store=DIR [host=127.0.0.1]
 *                         SET word -> the row's dim float32 little-endian bytes for every row, pipelined
 * </pre>
 * {@code run} prints one JSON line: requests, rows, requests/s, rows/s, p50/p90/p99/p999 latency in ms, errors.
 * Every run is bounded: the clients stop starting requests at W + T seconds, a socket read times out after 10 s
 * (counted in {@code timeouts}, left out of the percentiles; the client reconnects), and a run that got any other
 * error (a refused connection, a non-200 answer, an answer of the wrong size) stops at once.
 */
public final class ServerLoad {
    /** Distinct batches per run; the clients cycle through them, each from its own starting point. */
    static final int POOL = 512;
    static final int BUFFER = 64 * 1024;
    static final int READ_TIMEOUT_MS = 10_000;

    private ServerLoad() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    static int run(String[] args, PrintStream out) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: ServerLoad run|load key=value... (see the class comment)");
            return 2;
        }
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 0) {
                System.err.println("ServerLoad: expected key=value, got " + args[i]);
                return 2;
            }
            a.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        switch (args[0]) {
            case "run" -> out.println(load(a));
            case "load" -> out.println(fillRedis(a));
            default -> {
                System.err.println("ServerLoad: unknown subcommand " + args[0]);
                return 2;
            }
        }
        return 0;
    }

    private static String need(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("ServerLoad: missing " + key + "=");
        }
        return v;
    }

    /** One client's protocol: writes a request, reads its whole answer, returns the rows it carried. */
    interface Exchange {
        int exchange(int batch, Input in, OutputStream out) throws IOException;
    }

    static String load(Map<String, String> a) throws Exception {
        String proto = need(a, "proto");
        String op = a.getOrDefault("op", "lookup");
        String host = a.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(need(a, "port"));
        int conns = Integer.parseInt(a.getOrDefault("conns", "16"));
        double seconds = Double.parseDouble(a.getOrDefault("seconds", "10"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "3"));
        int batch = Integer.parseInt(a.getOrDefault("batch", "64"));
        long seed = Long.parseLong(a.getOrDefault("seed", "1"));
        String table = a.getOrDefault("table", "t");
        boolean byIds = "ids".equals(a.getOrDefault("by", "words"));
        int k = Integer.parseInt(a.getOrDefault("k", "10"));

        int dim;
        long[][] rows = new long[POOL][batch];
        String[][] words = new String[POOL][batch];
        try (EmbeddingStore store = EmbeddingStore.open(Path.of(need(a, "store")))) {
            dim = store.dim();
            SplittableRandom r = new SplittableRandom(seed);
            for (int b = 0; b < POOL; b++) {
                for (int i = 0; i < batch; i++) {
                    rows[b][i] = r.nextLong(store.rows());
                    words[b][i] = byIds ? null : store.word(rows[b][i]);
                }
            }
        }
        byte[][] requests = new byte[POOL][];
        Exchange exchange;
        switch (proto + "/" + op) {
            case "http/lookup" -> {
                String path = a.getOrDefault("path", "/v1/tables/" + table + "/lookup");
                for (int b = 0; b < POOL; b++) {
                    StringBuilder body = new StringBuilder(batch * 12 + 16).append(byIds ? "{\"ids\":[" : "{\"words\":[");
                    for (int i = 0; i < batch; i++) {
                        body.append(i == 0 ? "" : ",");
                        if (byIds) {
                            body.append(rows[b][i]);
                        } else {
                            jsonString(body, words[b][i]);
                        }
                    }
                    requests[b] = httpPost(host, port, path, "application/x-npy", body.append("]}").toString());
                }
                long minBody = (long) batch * dim * Float.BYTES;
                exchange = (b, in, out) -> {
                    out.write(requests[b]);
                    out.flush();
                    long n = readHttpAnswer(in);
                    if (n < minBody || n > minBody + 4096) {
                        throw new IOException("npy answer of " + n + " bytes for " + batch + " rows of " + dim);
                    }
                    return batch;
                };
            }
            case "http/similar" -> {
                String path = a.getOrDefault("path", "/v1/tables/" + table + "/similar");
                for (int b = 0; b < POOL; b++) {
                    StringBuilder body = new StringBuilder("{\"word\":");
                    jsonString(body, words[b][0]);
                    requests[b] = httpPost(host, port, path, "application/json",
                            body.append(",\"k\":").append(k).append('}').toString());
                }
                exchange = (b, in, out) -> {
                    out.write(requests[b]);
                    out.flush();
                    long n = readHttpAnswer(in);
                    if (n < 20 * k) {
                        throw new IOException("similar answer of only " + n + " bytes");
                    }
                    return 1;
                };
            }
            case "resp/lookup", "resp/get" -> {
                boolean get = op.equals("get");
                if (get && batch != 1) {
                    throw new IllegalArgumentException("resp get takes batch=1");
                }
                for (int b = 0; b < POOL; b++) {
                    List<byte[]> parts = new ArrayList<>(batch + 1);
                    parts.add((get ? "GET" : "MGET").getBytes(StandardCharsets.US_ASCII));
                    for (int i = 0; i < batch; i++) {
                        parts.add(words[b][i].getBytes(StandardCharsets.UTF_8));
                    }
                    requests[b] = resp(parts);
                }
                int rowBytes = dim * Float.BYTES;
                exchange = (b, in, out) -> {
                    out.write(requests[b]);
                    out.flush();
                    int got = get ? (readBulk(in) == rowBytes ? 1 : 0) : readArrayOfBulks(in, rowBytes);
                    if (got != batch) {
                        throw new IOException("redis answered " + got + " of " + batch + " values of " + rowBytes + " bytes");
                    }
                    return batch;
                };
            }
            default -> throw new IllegalArgumentException("ServerLoad: unknown proto/op " + proto + "/" + op);
        }
        return drive(host, port, conns, warmup, seconds, exchange, a);
    }

    private static String drive(String host, int port, int conns, double warmup, double seconds, Exchange exchange,
                                Map<String, String> a) throws InterruptedException {
        long start = System.nanoTime();
        long measureFrom = start + (long) (warmup * 1e9);
        long stopAt = measureFrom + (long) (seconds * 1e9);
        long[][] latencies = new long[conns][];
        int[] counts = new int[conns];
        long[] rowsDone = new long[conns];
        AtomicLong lastEnd = new AtomicLong(measureFrom);
        AtomicLong errors = new AtomicLong();
        AtomicLong timeouts = new AtomicLong();
        String[] firstError = new String[1];
        Thread[] clients = new Thread[conns];
        for (int c = 0; c < conns; c++) {
            int client = c;
            clients[c] = Thread.ofPlatform().name("load-" + c).start(() -> {
                long[] lat = new long[1 << 16];
                int n = 0;
                long rowsSeen = 0;
                int b = (int) ((long) client * POOL / conns);
                Socket s = null;
                try {
                    Input in = null;
                    OutputStream out = null;
                    while (errors.get() == 0) {
                        if (s == null) {
                            s = new Socket();
                            s.setTcpNoDelay(true);
                            s.setSoTimeout(READ_TIMEOUT_MS);
                            s.connect(new InetSocketAddress(host, port), READ_TIMEOUT_MS);
                            in = new Input(s.getInputStream());
                            out = new BufferedOutputStream(s.getOutputStream(), BUFFER);
                        }
                        long t0 = System.nanoTime();
                        if (t0 >= stopAt) {
                            break;
                        }
                        int got;
                        try {
                            got = exchange.exchange(b, in, out);
                        } catch (SocketTimeoutException e) {
                            // An answer that did not come in 10 s: counted, not in the percentiles; the client
                            // reconnects, as an HTTP client with a timeout would, and the run goes on.
                            timeouts.incrementAndGet();
                            s.close();
                            s = null;
                            continue;
                        }
                        long t1 = System.nanoTime();
                        b = (b + 1) % POOL;
                        if (t0 >= measureFrom) {
                            if (n == lat.length) {
                                lat = Arrays.copyOf(lat, n * 2);
                            }
                            lat[n++] = t1 - t0;
                            rowsSeen += got;
                            lastEnd.accumulateAndGet(t1, Math::max);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    if (errors.getAndIncrement() == 0) {
                        firstError[0] = e.toString();
                    }
                } finally {
                    if (s != null) {
                        try {
                            s.close();
                        } catch (IOException ignored) {
                            // closing a finished client's connection
                        }
                    }
                }
                latencies[client] = lat;
                counts[client] = n;
                rowsDone[client] = rowsSeen;
            });
        }
        for (Thread t : clients) {
            t.join();
        }
        if (errors.get() > 0) {
            throw new IllegalStateException("ServerLoad: " + errors.get() + " client(s) failed, first: " + firstError[0]);
        }
        int total = 0;
        long rows = 0;
        for (int c = 0; c < conns; c++) {
            total += counts[c];
            rows += rowsDone[c];
        }
        long[] all = new long[total];
        int at = 0;
        for (int c = 0; c < conns; c++) {
            System.arraycopy(latencies[c], 0, all, at, counts[c]);
            at += counts[c];
        }
        Arrays.sort(all);
        double measured = (lastEnd.get() - measureFrom) / 1e9;
        return String.format(java.util.Locale.ROOT,
                "{\"proto\": \"%s\", \"op\": \"%s\", \"batch\": %s, \"conns\": %d, \"seconds\": %.2f, \"requests\": %d, "
                + "\"rows\": %d, \"requests_per_s\": %.1f, \"rows_per_s\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                + "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, \"timeouts\": %d}",
                a.get("proto"), a.getOrDefault("op", "lookup"), a.getOrDefault("batch", "64"), conns, measured, total,
                rows, total / measured, rows / measured, pct(all, 0.50), pct(all, 0.90), pct(all, 0.99), pct(all, 0.999),
                total == 0 ? 0 : all[total - 1] / 1e6, timeouts.get());
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1e6;
    }

    private static void jsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '"' || ch == '\\') {
                sb.append('\\').append(ch);
            } else if (ch < 0x20) {
                sb.append(String.format("\\u%04x", (int) ch));
            } else {
                sb.append(ch);
            }
        }
        sb.append('"');
    }

    private static byte[] httpPost(String host, int port, String path, String accept, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nContent-Type: application/json\r\n"
                + "Accept: " + accept + "\r\nContent-Length: " + b.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(h, h.length + b.length);
        System.arraycopy(b, 0, all, h.length, b.length);
        return all;
    }

    static byte[] resp(List<byte[]> parts) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        o.writeBytes(("*" + parts.size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (byte[] p : parts) {
            o.writeBytes(("$" + p.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            o.writeBytes(p);
            o.writeBytes(new byte[] {'\r', '\n'});
        }
        return o.toByteArray();
    }

    /** Reads one HTTP/1.1 answer (Content-Length or chunked) to its end; returns the body's length. Non-200 throws. */
    static long readHttpAnswer(Input in) throws IOException {
        String status = in.line();
        if (!status.startsWith("HTTP/1.1 200")) {
            StringBuilder rest = new StringBuilder();
            for (String h = in.line(); !h.isEmpty(); h = in.line()) {
                rest.append(h).append("; ");
            }
            throw new IOException("answer: " + status + " (" + rest + ")");
        }
        long length = -1;
        boolean chunked = false;
        for (String h = in.line(); !h.isEmpty(); h = in.line()) {
            int colon = h.indexOf(':');
            String name = h.substring(0, Math.max(colon, 0)).trim();
            if (name.equalsIgnoreCase("content-length")) {
                length = Long.parseLong(h.substring(colon + 1).trim());
            } else if (name.equalsIgnoreCase("transfer-encoding") && h.toLowerCase().contains("chunked")) {
                chunked = true;
            }
        }
        if (!chunked) {
            if (length < 0) {
                throw new IOException("answer without Content-Length and not chunked");
            }
            in.skip(length);
            return length;
        }
        long total = 0;
        while (true) {
            String size = in.line();
            int semi = size.indexOf(';');
            long n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
            if (n == 0) {
                while (!in.line().isEmpty()) {
                    // trailers
                }
                return total;
            }
            in.skip(n);
            total += n;
            in.line();
        }
    }

    /**
     * The answer side of a connection: a plain buffer over the socket, without the per-call lock of
     * BufferedInputStream, so that parsing Redis' 1,024 bulk-string headers per MGET costs the client as little as
     * the HTTP side's dozen header lines (the client must not be what limits either side).
     */
    static final class Input {
        private final InputStream in;
        private final byte[] buf = new byte[BUFFER];
        private int pos;
        private int limit;

        Input(InputStream in) {
            this.in = in;
        }

        private boolean fill() throws IOException {
            pos = 0;
            limit = in.read(buf, 0, buf.length);
            return limit > 0;
        }

        String line() throws IOException {
            StringBuilder sb = null;
            while (true) {
                if (pos == limit && !fill()) {
                    throw new EOFException("connection closed by the server");
                }
                for (int i = pos; i < limit; i++) {
                    if (buf[i] == '\n') {
                        int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                        String part = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                        pos = i + 1;
                        if (sb == null) {
                            return part;
                        }
                        sb.append(part);
                        int n = sb.length();
                        if (n > 0 && sb.charAt(n - 1) == '\r') {
                            sb.setLength(n - 1);
                        }
                        return sb.toString();
                    }
                }
                if (sb == null) {
                    sb = new StringBuilder(64);
                }
                sb.append(new String(buf, pos, limit - pos, StandardCharsets.ISO_8859_1));
                pos = limit;
            }
        }

        int readByte() throws IOException {
            if (pos == limit && !fill()) {
                throw new EOFException("connection closed in the middle of an answer");
            }
            return buf[pos++];
        }

        /** Consumes n bytes; they pass through the buffer, as they would into a client's own answer buffer. */
        void skip(long n) throws IOException {
            while (n > 0) {
                if (pos == limit && !fill()) {
                    throw new EOFException("connection closed in the middle of an answer");
                }
                int take = (int) Math.min(n, limit - pos);
                pos += take;
                n -= take;
            }
        }
    }

    /** A RESP bulk string: returns its length (-1 for nil) after reading it. */
    static int readBulk(Input in) throws IOException {
        String head = in.line();
        if (head.charAt(0) != '$') {
            throw new IOException("redis: expected a bulk string, got " + head);
        }
        int n = Integer.parseInt(head.substring(1));
        if (n >= 0) {
            in.skip(n + 2L);
        }
        return n;
    }

    /** A RESP array of bulk strings: returns how many had {@code size} bytes. */
    static int readArrayOfBulks(Input in, int size) throws IOException {
        String head = in.line();
        if (head.charAt(0) != '*') {
            throw new IOException("redis: expected an array, got " + head);
        }
        int n = Integer.parseInt(head.substring(1));
        int ok = 0;
        for (int i = 0; i < n; i++) {
            if (readBulk(in) == size) {
                ok++;
            }
        }
        return ok;
    }

    /** SET word -> row bytes (float32 little-endian) for every row, 1000 commands in flight; then checks DBSIZE. */
    static String fillRedis(Map<String, String> a) throws IOException {
        String host = a.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(need(a, "port"));
        long t0 = System.nanoTime();
        try (EmbeddingStore store = EmbeddingStore.open(Path.of(need(a, "store")));
             Socket s = new Socket(host, port)) {
            s.setSoTimeout(60_000);
            Input in = new Input(s.getInputStream());
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 20);
            int dim = store.dim();
            float[] row = new float[dim];
            byte[] value = new byte[dim * Float.BYTES];
            java.nio.ByteBuffer le = java.nio.ByteBuffer.wrap(value).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            byte[] set = "SET".getBytes(StandardCharsets.US_ASCII);
            int pending = 0;
            for (long r = 0; r < store.rows(); r++) {
                store.read(r, row);
                le.clear();
                le.asFloatBuffer().put(row);
                out.write(resp(List.of(set, store.word(r).getBytes(StandardCharsets.UTF_8), value)));
                if (++pending == 1000) {
                    out.flush();
                    drainOk(in, pending);
                    pending = 0;
                }
            }
            out.flush();
            drainOk(in, pending);
            out.write(resp(List.of("DBSIZE".getBytes(StandardCharsets.US_ASCII))));
            out.flush();
            String size = in.line();
            if (!size.equals(":" + store.rows())) {
                throw new IOException("redis DBSIZE " + size + " after loading " + store.rows() + " rows");
            }
            return "{\"loaded\": " + store.rows() + ", \"seconds\": " + (System.nanoTime() - t0) / 1e9 + "}";
        }
    }

    private static void drainOk(Input in, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            String l = in.line();
            if (!l.equals("+OK")) {
                throw new UncheckedIOException(new IOException("redis: " + l));
            }
        }
    }
}
