package io.embstore.cli;

import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * A seeded generator of malformed and hostile HTTP requests for {@code embstore serve}: fuzzed JSON bodies, batches and
 * bodies over the limits, wrong methods, unknown endpoints, path traversal in table names, bad media types and tokens,
 * garbage that is not HTTP, HTTP/1.0, absurd headers. Each comes with the statuses a correct server may answer.
 *
 * <p>The server it targets serves one table {@code t} (words {@code w0..w(rows-1)}, {@code dim} floats) and needs the
 * bearer token; {@code siblings} are real directories beside the table's store (another store among them) that must
 * stay unreachable, named by absolute path too.
 */
final class HostileRequests {
    /**
     * One request. {@code allowed}: the statuses a correct server may answer (4xx ones must come as JSON errors);
     * {@code mayClose}: closing the connection without an answer is also correct (garbage that is not HTTP, a request
     * the server stops reading); {@code halfClose}: the client closes its sending side after the bytes, so a server
     * waiting for more sees the end at once.
     */
    record Case(String category, String label, byte[] bytes, Set<Integer> allowed, boolean mayClose, boolean halfClose) {
        @Override
        public String toString() {
            return category + ": " + label + "\n  request: " + RawHttp.printable(bytes);
        }
    }

    private static final Set<Integer> BAD = Set.of(400);
    private static final Set<Integer> NOT_FOUND = Set.of(404);
    private static final Set<Integer> UNKNOWN_PATH = Set.of(400, 404);

    private final Random random;
    private final String token;
    private final int rows;
    private final int dim;
    private final int maxBatch;
    private final int maxBodyBytes;
    private final List<String> siblings;

    HostileRequests(long seed, String token, int rows, int dim, int maxBatch, int maxBodyBytes, List<String> siblings) {
        this.random = new Random(seed);
        this.token = token;
        this.rows = rows;
        this.dim = dim;
        this.maxBatch = maxBatch;
        this.maxBodyBytes = maxBodyBytes;
        this.siblings = siblings;
    }

    /** {@code n} requests (at least one of every kind the generator knows), shuffled. */
    List<Case> generate(int n) {
        List<Case> cases = new ArrayList<>();
        cases.addAll(wrongMethods());
        int[][] shares = {{30, 0}, {15, 1}, {2, 2}, {3, 3}, {5, 4}, {12, 5}, {6, 6}, {6, 7}, {8, 8}, {3, 9}, {4, 10}};
        int total = 0;
        for (int[] s : shares) {
            total += s[0];
        }
        int left = n - cases.size();
        List<IntFunction<Case>> kinds = List.of(this::fuzzedLookup, this::fuzzedSimilar, this::hugeBatch, this::oversized,
                this::unknownEndpoint, this::traversal, this::mediaTypes, this::tokens, this::garbage, this::http10,
                this::absurdHeaders);
        for (int[] s : shares) {
            int count = s == shares[shares.length - 1] ? n - cases.size() : Math.max(1, left * s[0] / total);
            for (int i = 0; i < count; i++) {
                cases.add(kinds.get(s[1]).apply(i));
            }
        }
        Collections.shuffle(cases, random);
        return cases;
    }

    // ------------------------------------------------------------------------------------------------ building

    private byte[] request(String method, String target, String body, String... headers) {
        return request(method, target, body == null ? null : body.getBytes(StandardCharsets.UTF_8), true, headers);
    }

    /** A well-formed HTTP/1.1 request: Host, Connection: close, the token (unless {@code withToken} is false). */
    private byte[] request(String method, String target, byte[] body, boolean withToken, String... headers) {
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        head.append("Host: 127.0.0.1\r\nConnection: close\r\n");
        if (withToken) {
            head.append("Authorization: Bearer ").append(token).append("\r\n");
        }
        boolean contentType = false;
        for (String h : headers) {
            head.append(h).append("\r\n");
            contentType |= h.regionMatches(true, 0, "Content-Type:", 0, 13);
        }
        if (body != null) {
            if (!contentType) {
                head.append("Content-Type: application/json\r\n");
            }
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        return concat(head.toString().getBytes(StandardCharsets.ISO_8859_1), body == null ? new byte[0] : body);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private <T> T pick(List<T> options) {
        return options.get(random.nextInt(options.size()));
    }

    @SafeVarargs
    private <T> T pick(T... options) {
        return options[random.nextInt(options.length)];
    }

    private String word() {
        return "\"w" + random.nextInt(rows) + "\"";
    }

    private String validLookup() {
        return random.nextBoolean() ? "{\"words\":[" + word() + "," + word() + "]}"
                : "{\"ids\":[" + random.nextInt(rows) + "," + random.nextInt(rows) + "]}";
    }

    private String vector(int n) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            s.append(i == 0 ? "" : ",").append(random.nextGaussian());
        }
        return s.append(']').toString();
    }

    private Case json(String category, String label, String path, byte[] body, Set<Integer> allowed) {
        return new Case(category, label, request("POST", path, body, true), allowed, false, false);
    }

    private Case json(String category, String label, String path, String body, Set<Integer> allowed) {
        return json(category, label, path, body.getBytes(StandardCharsets.UTF_8), allowed);
    }

    // ------------------------------------------------------------------------------------------------ bodies

    private static final String LOOKUP = "/v1/tables/t/lookup";
    private static final String SIMILAR = "/v1/tables/t/similar";

    private Case fuzzedLookup(int i) {
        String valid = validLookup();
        return switch (random.nextInt(14)) {
            case 0 -> {
                int cut = 1 + random.nextInt(valid.length() - 1);
                yield json("json", "truncated at " + cut, LOOKUP, valid.substring(0, cut), BAD);
            }
            case 1 -> json("json", "words of a wrong type", LOOKUP, "{\"words\":" + pick("5", "\"w1\"", "{\"a\":1}", "[1,2]",
                    "[null]", "[true]", "[[\"w1\"]]", "null", "[\"w1\",{}]", "[\"w1\",3.5]") + "}", BAD);
            case 2 -> json("json", "ids of a wrong type", LOOKUP, "{\"ids\":" + pick("\"0\"", "[\"0\"]", "[0.5]", "[1e2]", "[1.0]",
                    "[true]", "[null]", "{}", "[[0]]", "0", "[0,\"1\"]", "[1E0]", "[0x10]", "[+1]", "[01]") + "}", BAD);
            case 3 -> {
                int depth = pick(1_001, 5_000, 20_000, 100_000);
                String open = pick("[", "{\"words\":[", "{\"a\":[");
                String nested = "{\"ids\":" + "[".repeat(depth) + (random.nextBoolean() ? "]".repeat(depth) : "") + "}";
                yield json("json", "nested " + depth + " deep", LOOKUP, open.equals("[") ? nested
                        : open + "[".repeat(depth) + "]".repeat(depth) + "]}", BAD);
            }
            case 4 -> json("json", "huge or negative ids", LOOKUP, "{\"ids\":[" + pick("1e308", "123456789012345678901234567890",
                    "9223372036854775808", "-9223372036854775809", "-1", Integer.toString(rows), "2147483648",
                    "9223372036854775807", "-2147483649", "1" + "0".repeat(5000)) + "]}", BAD);
            case 5 -> json("json", "NaN and infinities", LOOKUP, "{\"ids\":[" + pick("NaN", "Infinity", "-Infinity", "nan",
                    "-0.0", "1e-400") + "]}", BAD);
            case 6 -> json("json", "duplicate keys", LOOKUP, pick("{\"words\":[\"w1\"],\"words\":[\"w2\"]}",
                    "{\"ids\":[1],\"ids\":[2]}", "{\"ids\":[1],\"words\":[\"w1\"]}"), BAD);
            case 7 -> {
                byte[] bad = pick(new byte[] {(byte) 0xff, (byte) 0xfe}, new byte[] {(byte) 0xc0, (byte) 0xaf},
                        new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, new byte[] {(byte) 0xe2, (byte) 0x82},
                        new byte[] {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}, new byte[] {(byte) 0x80});
                yield json("json", "bytes that are not UTF-8 in a word", LOOKUP,
                        concat(ascii("{\"words\":[\"w1\",\"x"), bad, ascii("y\"]}")), BAD);
            }
            case 8 -> json("json", "an extra field", LOOKUP, valid.substring(0, valid.length() - 1)
                    + pick(",\"extra\":1}", ",\"k\":5}", ",\"wrods\":[\"w1\"]}", ",\"\":null}"), BAD);
            case 9 -> json("json", "not one of words and ids", LOOKUP, pick("{}", "{\"words\":[\"w1\"],\"ids\":[1]}",
                    "{\"k\":3}", "{\"word\":\"w1\"}", "{\"words\":null}", "{\"ids\":null,\"words\":null}"), BAD);
            case 10 -> json("json", "not an object", LOOKUP, pick("", " ", "[]", "\"x\"", "1", "null", "true", "[{\"ids\":[1]}]",
                    "\u0000", "{\"ids\":[1]}}", "{\"ids\":[1]} {\"ids\":[2]}", "{\"ids\":[1]} xyz"), BAD);
            case 11 -> json("json", "lenient JSON", LOOKUP, pick("{'ids':[1]}", "{ids:[1]}", "{\"ids\":[1,]}", "{\"ids\":[,1]}",
                    "/* c */{\"ids\":[1]}", "{\"ids\":[1]} // c", "{\"ids\":[1] # c\n}", "{\"words\":[\"\\x41\"]}",
                    "{\"words\":[\"a\nb\"]}", "{\"words\":[\"\\u12\"]}"), BAD);
            case 12 -> {
                StringBuilder s = new StringBuilder("{\"words\":[");
                for (int j = 0; j < 1 + random.nextInt(40); j++) {
                    s.append((char) (0x20 + random.nextInt(0x5f)));
                }
                yield json("json", "random text after a valid start", LOOKUP, s.toString(), BAD);
            }
            default -> {
                byte[] body = valid.getBytes(StandardCharsets.UTF_8);
                int flips = 1 + random.nextInt(3);
                for (int f = 0; f < flips; f++) {
                    int at = random.nextInt(body.length);
                    // Bytes a JSON text can never take where a structural character stood.
                    body[at] = pick((byte) '{', (byte) ']', (byte) ':', (byte) 0, (byte) '\\', (byte) 0xfe);
                }
                // A flip may leave valid JSON (e.g. a digit for a digit): then only a 4xx or the right answer is allowed.
                yield json("json", "flipped bytes", LOOKUP, body, Set.of(400, 404, 200));
            }
        };
    }

    private Case fuzzedSimilar(int i) {
        return switch (random.nextInt(9)) {
            case 0 -> json("json", "k out of range", SIMILAR, "{\"word\":" + word() + ",\"k\":" + pick("0", "-1", "1001",
                    "1e10", "99999999999999999999", "-9223372036854775808", "2147483648") + "}", BAD);
            case 1 -> json("json", "k of a wrong type", SIMILAR, "{\"word\":" + word() + ",\"k\":" + pick("\"10\"", "10.5", "1e1",
                    "null", "true", "[10]", "{}", "NaN") + "}", BAD);
            case 2 -> json("json", "word of a wrong type", SIMILAR, "{\"word\":" + pick("5", "null", "[\"w1\"]", "{}", "true")
                    + "}", BAD);
            case 3 -> json("json", "vector of a wrong length", SIMILAR, "{\"vector\":" + vector(pick(0, 1, dim - 1, dim + 1,
                    dim * 100)) + "}", BAD);
            case 4 -> {
                String v = vector(dim);
                String bad = pick("NaN", "Infinity", "-Infinity", "\"1\"", "null", "[1]", "1e39", "-1e39");
                yield json("json", "vector holding " + bad, SIMILAR, "{\"vector\":[" + bad + v.substring(v.indexOf(','))
                        + "}", BAD);
            }
            case 5 -> json("json", "a zero vector", SIMILAR, "{\"vector\":[" + "0,".repeat(dim - 1) + "0]}", BAD);
            case 6 -> json("json", "exclude of a wrong type", SIMILAR, "{\"word\":" + word() + ",\"exclude\":" + pick("\"w1\"",
                    "[1,2]", "5", "[null]", "{}", "[[\"w1\"]]") + "}", BAD);
            case 7 -> json("json", "not one of word and vector", SIMILAR, pick("{}", "{\"k\":5}",
                    "{\"word\":\"w1\",\"vector\":" + vector(dim) + "}", "{\"words\":[\"w1\"]}"), BAD);
            default -> json("json", "an absent word", SIMILAR, "{\"word\":\"" + pick("zzz", "W1", "w" + rows, "", "w1 ",
                    "../w1") + "\"}", NOT_FOUND);
        };
    }

    private Case hugeBatch(int i) {
        int n = maxBatch + 1 + random.nextInt(maxBatch);
        StringBuilder s = new StringBuilder(random.nextBoolean() ? "{\"ids\":[" : "{\"words\":[");
        boolean ids = s.charAt(2) == 'i';
        for (int j = 0; j < n; j++) {
            s.append(j == 0 ? "" : ",").append(ids ? Integer.toString(random.nextInt(rows)) : word());
        }
        s.append("]}");
        return json("batch", n + " entries (the limit is " + maxBatch + ")", LOOKUP, s.toString(), Set.of(400, 413));
    }

    private Case oversized(int i) {
        switch (random.nextInt(4)) {
            case 0: {
                // A body of limit + a few bytes, valid JSON padded with spaces: refused for its size alone.
                String valid = validLookup();
                int size = maxBodyBytes + 1 + random.nextInt(4096);
                String body = valid + " ".repeat(size - valid.length());
                return json("size", "a body of " + size + " bytes", LOOKUP, body, Set.of(413));
            }
            case 1: {
                // A Content-Length far over the limit and no body: to be refused before reading (half-closed: a
                // server that waits for the body would only see the end of the stream).
                long length = pick(maxBodyBytes + 1L, 1L << 40, Long.MAX_VALUE);
                byte[] head = ascii("POST " + LOOKUP + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + length + "\r\n\r\n{\"ids\":[");
                return new Case("size", "Content-Length " + length + " with no body", head, Set.of(413), false, true);
            }
            case 2: {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.writeBytes(ascii("POST " + LOOKUP + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer "
                        + token + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
                int sent = 0;
                int size = maxBodyBytes + 1 + random.nextInt(65536);
                while (sent < size) {
                    int chunk = Math.min(size - sent, 1 + random.nextInt(16384));
                    out.writeBytes(ascii(Integer.toHexString(chunk) + "\r\n" + " ".repeat(chunk) + "\r\n"));
                    sent += chunk;
                }
                out.writeBytes(ascii("0\r\n\r\n"));
                return new Case("size", "a chunked body of " + size + " bytes", out.toByteArray(), Set.of(413), false, false);
            }
            default: {
                String size = pick("FFFFFFFFFFFFFFFFFF", "7fffffffffffffff", "zz", "-1", Integer.toHexString(maxBodyBytes + 1));
                byte[] head = ascii("POST " + LOOKUP + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
                        + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n{\"ids\":[");
                return new Case("size", "a chunk of size " + size, head, Set.of(400, 413), false, true);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ routing

    /** Every endpoint with every method it does not take (405), and methods no server knows (400 or 405). */
    private List<Case> wrongMethods() {
        List<Case> cases = new ArrayList<>();
        String[][] endpoints = {{"/healthz", "GET"}, {"/metrics", "GET"}, {"/v1/tables", "GET"}, {"/v1/tables/t", "GET"},
                {LOOKUP, "POST"}, {SIMILAR, "POST"}};
        for (String[] e : endpoints) {
            for (String method : List.of("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")) {
                if (!method.equals(e[1])) {
                    String body = method.equals("GET") || method.equals("OPTIONS") || method.equals("TRACE") ? null : validLookup();
                    cases.add(new Case("method", method + " " + e[0], request(method, e[0], body), Set.of(405), false, false));
                }
            }
            for (String method : List.of("FOO", "PROPFIND", "BREW")) {
                cases.add(new Case("method", method + " " + e[0], request(method, e[0], null), Set.of(400, 405), false, false));
            }
            // Methods are case-sensitive, but a parser that takes "get" for GET exposes nothing GET does not.
            cases.add(new Case("method", "get " + e[0], request("get", e[0], null),
                    e[1].equals("GET") ? Set.of(200, 400, 405) : Set.of(400, 405), false, false));
        }
        return cases;
    }

    private Case unknownEndpoint(int i) {
        String path = pick("/", "/v1", "/v1/", "/v2/tables", "/v1/table", "/v1/tables/t/lookup/x", "/v1/tables/t/neighbours",
                "/healthz/x", "/favicon.ico", "/.env", "/v1/tables/t/LOOKUP", "/V1/TABLES", "/v1/tables/t/lookup%00",
                "/metrics.json", "/v1/tables/t/t/t", "/" + "a/".repeat(500), "/v1/tables/t/" + "x".repeat(2000),
                "/actuator/health", "/server-status", "/v1/tables/t/lookup;jsessionid=1", "/v1/../v1/tables/x");
        String method = path.endsWith("lookup%00") || path.endsWith("lookup;jsessionid=1") ? "POST" : "GET";
        // Path parameters (;x=y) may be dropped as RFC 3986 allows: the lookup is then the lookup it names.
        return new Case("endpoint", method + " " + path, request(method, path, method.equals("POST") ? validLookup() : null),
                path.contains(";") ? Set.of(200, 400, 404) : UNKNOWN_PATH, false, false);
    }

    /** Table names that are paths: none may reach a file or directory, whatever it names. */
    private Case traversal(int i) {
        List<String> names = new ArrayList<>(List.of("..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "..%2f..%2f..%2fetc%2fpasswd",
                "..%2fother", "..%252f..%252fetc%252fpasswd", "%2fetc%2fpasswd", "%2F", "..%5c..%5cwindows", "..%5cother",
                "other", "plain", "lost%2bfound", ".", "%2e", "t%00", "t%00.txt", "%00", "t%2f..%2ft", "t%2f", "~root", "%7eroot",
                "%24HOME", "t%3b", "t%20", "%20t", "t.", "T", "t..", "...", "..%00", "%c0%ae%c0%ae", "%e0%80%ae%e0%80%ae",
                "%uff0e%uff0e", "%ef%bc%8e%ef%bc%8e", "t%2f%2e%2e%2f%2e%2e%2fother", "%", "%2", "%zz", "tables", "v1", "proc",
                "..%2f..%2f..%2f..%2f..%2f..%2fproc%2fself%2fenviron", "CON", "t::$DATA", "t%0d%0aX-Injected:%201"));
        for (String s : siblings) {
            names.add(URLEncoder.encode(s, StandardCharsets.UTF_8));
            names.add(URLEncoder.encode(s, StandardCharsets.UTF_8).replace("%2F", "%252F"));
        }
        String name = pick(names);
        String raw = pick("/v1/tables/../../../etc/passwd", "/v1/tables/t/../../../../etc/passwd", "/v1/tables/./other",
                "/v1/tables//etc/passwd", "/v1/tables/%2e%2e/%2e%2e/etc/passwd", "/v1/tables/..;/..;/etc/passwd");
        String path = random.nextInt(8) == 0 ? raw : "/v1/tables/" + name;
        return switch (random.nextInt(3)) {
            case 0 -> new Case("traversal", "GET " + path, request("GET", path, null), UNKNOWN_PATH, false, false);
            case 1 -> new Case("traversal", "lookup " + path, request("POST", path + "/lookup", validLookup()), UNKNOWN_PATH,
                    false, false);
            default -> new Case("traversal", "similar " + path, request("POST", path + "/similar", "{\"word\":" + word() + "}"),
                    UNKNOWN_PATH, false, false);
        };
    }

    private Case mediaTypes(int i) {
        String body = validLookup();
        if (random.nextBoolean()) {
            String type = pick("text/plain", "application/xml", "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x", "application/jsonx", "application/x-npy", "image/png", "json",
                    "application/json-patch+json", "text/json; charset=utf-8", ";;;", "*/*");
            return new Case("media", "Content-Type: " + type, request("POST", LOOKUP, body, "Content-Type: " + type),
                    Set.of(415), false, false);
        }
        String accept = pick("image/png", "text/html", "application/xml", "text/plain", "application/x-npy;q=0",
                "application/octet-stream", "video/*");
        return new Case("media", "Accept: " + accept, request("POST", LOOKUP, body, "Content-Type: application/json",
                "Accept: " + accept), Set.of(406), false, false);
    }

    private Case tokens(int i) {
        String wrong = pick("Bearer wrong", "Bearer " + token.substring(1), "Bearer " + token + "x",
                "Bearer " + token.substring(0, token.length() - 1) + (char) (token.charAt(token.length() - 1) ^ 1), "Bearer",
                "Bearer ", "Basic " + Base64.getEncoder().encodeToString(("user:" + token).getBytes(StandardCharsets.UTF_8)),
                "Token " + token, token, "Bearer " + "A".repeat(4000), "Bearer " + token.toUpperCase(java.util.Locale.ROOT),
                "Bearer " + token.substring(0, token.length() / 2), "Bearer \u00ff\u00fe" + token);
        boolean none = random.nextInt(4) == 0;
        // A header value that is not ASCII may be refused as bad HTTP before the token is looked at.
        Set<Integer> refused = wrong.indexOf('\u00ff') >= 0 ? Set.of(400, 401) : Set.of(401);
        String[] headers = none ? new String[0] : new String[] {"Authorization: " + wrong};
        String label = none ? "no Authorization" : "Authorization: " + (wrong.length() > 60 ? wrong.substring(0, 60) + "..." : wrong);
        if (random.nextBoolean()) {
            return new Case("token", "GET /v1/tables, " + label, request("GET", pick("/v1/tables", "/v1/tables/t", "/metrics",
                    "/v1/tables?token=" + token), (byte[]) null, false, headers), refused, false, false);
        }
        String[] withType = new String[headers.length + 1];
        System.arraycopy(headers, 0, withType, 0, headers.length);
        withType[headers.length] = "Content-Type: application/json";
        String path = pick(LOOKUP, SIMILAR, "/v1/tables/nope/lookup", "/v1/tables/..%2fother/lookup");
        String body = path.equals(SIMILAR) ? "{\"word\":" + word() + "}" : validLookup();
        // An unknown table may be answered 404 or 401: either says nothing about the tables to a client without the token.
        return new Case("token", "POST " + path + ", " + label, request("POST", path, body.getBytes(StandardCharsets.UTF_8),
                false, withType), path.startsWith("/v1/tables/t/") ? refused : Set.of(400, 401, 404), false, false);
    }

    // ------------------------------------------------------------------------------------------------ not quite HTTP

    private Case garbage(int i) {
        switch (random.nextInt(6)) {
            case 0: {
                byte[] bytes = new byte[1 + random.nextInt(2048)];
                random.nextBytes(bytes);
                return new Case("garbage", bytes.length + " random bytes", bytes, Set.of(400), true, true);
            }
            case 1: {
                StringBuilder s = new StringBuilder();
                for (int j = 0; j < 1 + random.nextInt(200); j++) {
                    s.append((char) (0x20 + random.nextInt(0x5f)));
                }
                s.append(pick("\r\n\r\n", "\n", "", "\r\n"));
                return new Case("garbage", "random text", ascii(s.toString()), Set.of(400), true, true);
            }
            case 2: {
                String s = pick("\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/1.1", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
                        "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", "GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n",
                        "GET /healthz HTTP/1.1\r\nHost: x\u0000y\r\n\r\n", "GET /healthz HTTP/1.1\r\n: x\r\n\r\n",
                        "GET  /healthz  HTTP/1.1\r\nHost: x\r\n\r\n", "GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n",
                        "GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n", "GET /he\u0000althz HTTP/1.1\r\nHost: x\r\n\r\n",
                        "GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
                        "\u0000\u0000\u0000\u0000", "GET \u00ff\u00fe HTTP/1.1\r\nHost: x\r\n\r\n", "* * *\r\n\r\n",
                        "GET /healthz HTTP/1.\r\n\r\n", "GET /healthz http/1.1\r\n\r\n", "GET /healthz HTTP/11\r\n\r\n");
                // Some of these a lenient parser may take for the /healthz request they almost are (or, without the
                // token, for a request that needs it).
                return new Case("garbage", "broken request: " + s.strip(), ascii(s), Set.of(200, 400, 401, 404, 414, 431), true, true);
            }
            case 3: {
                // A TLS ClientHello's first bytes: a client that thinks the port speaks https.
                byte[] hello = {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, 0x00, 0x00, (byte) 0xa1, 0x03, 0x03};
                byte[] rest = new byte[160];
                random.nextBytes(rest);
                return new Case("garbage", "a TLS ClientHello", concat(hello, rest), Set.of(400), true, true);
            }
            case 4: {
                byte[] junk = new byte[random.nextInt(512)];
                random.nextBytes(junk);
                // An h2c server (prior knowledge) answers in HTTP/2 frames: its SETTINGS, then (a GOAWAY and) the close.
                return new Case("garbage", "the HTTP/2 preface then garbage", concat(ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), junk),
                        Set.of(400, RawHttp.NOT_HTTP1), true, true);
            }
            default: {
                String framing = pick("Content-Length: 5\r\nContent-Length: 6", "Content-Length: -1", "Content-Length: abc",
                        "Content-Length: 99999999999999999999", "Content-Length: 1 2", "Transfer-Encoding: xchunked",
                        "Transfer-Encoding: chunked\r\nContent-Length: 3", "Content-Length: +12", "Content-Length: 0x0c");
                byte[] head = ascii("POST " + LOOKUP + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
                        + "\r\nContent-Type: application/json\r\n" + framing + "\r\n\r\n{\"ids\":[1]}");
                return new Case("garbage", "bad framing: " + framing.replace("\r\n", " / "), head,
                        Set.of(400, 411, 413), true, true);
            }
        }
    }

    /**
     * HTTP/1.0 requests. Helidon 4.5 hands a connection to its HTTP/1 protocol only when the first line ends in
     * " HTTP/1.1" (Http1ConnectionSelector), so an HTTP/1.0 client's connection is closed without an answer: allowed
     * (docs/SERVER.md says so), as long as it is closed at once and the server carries on.
     */
    private Case http10(int i) {
        return switch (random.nextInt(5)) {
            case 0 -> new Case("http/1.0", "GET /healthz", ascii("GET /healthz HTTP/1.0\r\n\r\n"), Set.of(200), true, false);
            case 1 -> new Case("http/1.0", "GET /v1/tables without the token", ascii("GET /v1/tables HTTP/1.0\r\n\r\n"),
                    Set.of(401), true, false);
            case 2 -> {
                String body = validLookup();
                yield new Case("http/1.0", "a lookup", ascii("POST " + LOOKUP + " HTTP/1.0\r\nAuthorization: Bearer " + token
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body),
                        Set.of(200), true, false);
            }
            case 3 -> new Case("http/1.0", "a lookup without Content-Length, its body ended by the close",
                    ascii("POST " + LOOKUP + " HTTP/1.0\r\nAuthorization: Bearer " + token
                            + "\r\nContent-Type: application/json\r\n\r\n" + validLookup()), Set.of(200, 400, 411), true, true);
            default -> new Case("http/1.0", "HTTP/0.9", ascii("GET /healthz\r\n"), Set.of(400), true, true);
        };
    }

    private Case absurdHeaders(int i) {
        int size = pick(8_192, 20_000, 65_536, 300_000, 1_500_000);
        boolean huge = size >= 65_536;
        String label;
        String head;
        switch (random.nextInt(5)) {
            case 0 -> {
                label = "a header of " + size + " bytes";
                head = "GET /v1/tables HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nX-Big: " + "a".repeat(size) + "\r\n\r\n";
            }
            case 1 -> {
                int n = size / 8;
                label = n + " headers";
                head = "GET /v1/tables HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n" + "X-A: b\r\n".repeat(n) + "\r\n";
            }
            case 2 -> {
                label = "a request target of " + size + " bytes";
                head = "GET /v1/tables/" + "t".repeat(size) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
            }
            case 3 -> {
                label = "a header name of " + size + " bytes";
                head = "GET /v1/tables HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n" + "N".repeat(size) + ": v\r\n\r\n";
            }
            default -> {
                label = "a query string of " + size + " bytes";
                head = "GET /v1/tables?" + "q=1&".repeat(size / 4) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
            }
        }
        // Under 64 KiB the answer must be an error; above, a server may stop reading and close instead. A query string
        // the server ignores, or a header within its limit, may be answered as the request it is. A request line that
        // does not end in " HTTP/1.1" within the first 8 KiB is not taken for HTTP/1.1 by Helidon (see http10): closed.
        boolean longLine = label.startsWith("a query") || label.startsWith("a request target");
        Set<Integer> allowed = label.startsWith("a query") || size <= 8_192 && !longLine
                ? Set.of(200, 400, 413, 414, 431) : Set.of(400, 404, 413, 414, 431);
        return new Case("headers", label, ascii(head), allowed, huge || longLine && size >= 8_192, huge);
    }
}
