package io.embstore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A test's HTTP client of one server: the JDK's HttpClient, plus raw sockets for requests a client would not send. */
final class ApiClient {
    private static final JsonFactory JSON = new JsonFactory();

    private final String base;
    private final int port;
    private final HttpClient http;
    private String token;

    ApiClient(int port) {
        this(port, HttpClient.Version.HTTP_1_1);
    }

    ApiClient(int port, HttpClient.Version version) {
        this.port = port;
        this.base = "http://127.0.0.1:" + port;
        this.http = HttpClient.newBuilder().version(version).connectTimeout(Duration.ofSeconds(10)).build();
    }

    ApiClient token(String token) {
        this.token = token;
        return this;
    }

    int port() {
        return port;
    }

    HttpResponse<byte[]> get(String path) {
        return send(request(path).GET().build());
    }

    HttpResponse<byte[]> post(String path, String json) {
        return post(path, json, "application/json");
    }

    HttpResponse<byte[]> post(String path, String json, String accept) {
        HttpRequest.Builder b = request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
        if (accept != null) {
            b.header("Accept", accept);
        }
        return send(b.build());
    }

    HttpResponse<byte[]> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    /** A raw connection: the test writes bytes as it likes (partial bodies, bad framing). */
    Socket socket() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(60_000);
        return s;
    }

    /** Writes {@code text} (ISO-8859-1) to a raw connection. */
    static void write(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** Reads one HTTP/1.1 response with a Content-Length from a raw connection: its status line, headers and body. */
    static RawResponse read(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        List<String> head = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed in the response head: " + head);
            }
            if (c == '\n') {
                String l = line.toString().strip();
                line.setLength(0);
                if (l.isEmpty()) {
                    break;
                }
                head.add(l);
            } else {
                line.append((char) c);
            }
        }
        int length = 0;
        for (String h : head) {
            if (h.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(h.substring(15).strip());
            }
        }
        byte[] body = in.readNBytes(length);
        return new RawResponse(Integer.parseInt(head.get(0).split(" ")[1]), head, new String(body, StandardCharsets.UTF_8));
    }

    record RawResponse(int status, List<String> head, String body) {
        String header(String name) {
            for (String h : head) {
                if (h.toLowerCase().startsWith(name.toLowerCase() + ":")) {
                    return h.substring(name.length() + 1).strip();
                }
            }
            return null;
        }
    }

    /** The error object of a JSON error answer: asserts its shape and returns {kind, message}. */
    static String[] error(int status, byte[] body) {
        try (JsonParser p = JSON.createParser(body)) {
            assertEquals(JsonToken.START_OBJECT, p.nextToken(), new String(body, StandardCharsets.UTF_8));
            assertEquals("error", p.nextFieldName());
            assertEquals(JsonToken.START_OBJECT, p.nextToken());
            assertEquals("status", p.nextFieldName());
            p.nextToken();
            assertEquals(status, p.getIntValue(), new String(body, StandardCharsets.UTF_8));
            assertEquals("kind", p.nextFieldName());
            String kind = p.nextTextValue();
            assertEquals("message", p.nextFieldName());
            String message = p.nextTextValue();
            assertEquals(JsonToken.END_OBJECT, p.nextToken());
            assertEquals(JsonToken.END_OBJECT, p.nextToken());
            assertEquals(null, p.nextToken());
            return new String[] {kind, message};
        } catch (IOException e) {
            throw new AssertionError("not a JSON error: " + new String(body, StandardCharsets.UTF_8), e);
        }
    }
}
