package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.embstore.server.EmbeddingServer;
import io.embstore.testkit.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that hold the server's resources: a body or headers sent a byte every 300 ms (slowloris) are cut off within
 * a bounded time while other clients are served, and requests beyond the in-flight limit are refused with 503 and
 * Retry-After. In process, through EmbeddingServer: its read timeout is set short here (2 s), which the command line
 * does not offer (30 s there).
 */
class ServeSlowClientsTest {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(2);
    /** The most a slow client may hold its connection: the read timeout, and slack for a busy 2-core machine. */
    private static final long CUT_OFF_WITHIN_MILLIS = READ_TIMEOUT.toMillis() + 4_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static String lookupRequest(String body, String... extraHeaders) {
        return "POST /v1/tables/t/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + String.join("", extraHeaders) + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /** A lookup of w{row} on a fresh connection must answer the stored values. */
    private static void assertServed(int port, float[][] values, int row) throws IOException {
        RawHttp.Response r = RawHttp.exchange(port, lookupRequest("{\"words\":[\"w" + row + "\"]}", "Connection: close\r\n")
                .getBytes(StandardCharsets.US_ASCII), false, 5_000);
        assertEquals(200, r.status(), r::toString);
        JsonNode vector = JSON.readTree(r.body()).path("vectors").get(0);
        for (int c = 0; c < values[row].length; c++) {
            assertEquals(Float.floatToRawIntBits(values[row][c]), Float.floatToRawIntBits(Float.parseFloat(vector.get(c).asText())),
                    r::toString);
        }
    }

    /**
     * Sends {@code head} at once, then {@code trickle} a byte every 300 ms from another thread until the server stops
     * taking them; returns the socket (its reader is the caller's).
     */
    private static Socket slowClient(int port, String head, String trickle, AtomicInteger trickled) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout((int) CUT_OFF_WITHIN_MILLIS * 3);
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread.ofVirtual().start(() -> {
            try {
                for (int i = 0; i < trickle.length(); i++) {
                    Thread.sleep(300); // the client's pace, not a wait for the server
                    out.write(trickle.charAt(i));
                    out.flush();
                    trickled.incrementAndGet();
                }
            } catch (IOException | InterruptedException e) {
                // cut off: what the test expects
            }
        });
        return socket;
    }

    /** Reads what the server says to a slow client; fails unless it is a 4xx JSON error or a close, in time. */
    private static void assertCutOff(Socket socket, long startNanos, String what) throws IOException {
        RawHttp.Response r;
        try {
            r = RawHttp.read(new BufferedInputStream(socket.getInputStream()), startNanos + 2 * CUT_OFF_WITHIN_MILLIS * 1_000_000);
        } catch (RawHttp.NoAnswer e) {
            fail(what + " still held its connection " + 2 * CUT_OFF_WITHIN_MILLIS + " ms after it started (read timeout "
                    + READ_TIMEOUT + ")");
            return;
        } catch (SocketException e) {
            r = null; // reset: cut off
        }
        long millis = (System.nanoTime() - startNanos) / 1_000_000;
        System.out.println("ServeSlowClientsTest: " + what + " cut off after " + millis + " ms: " + (r == null ? "reset" : r));
        assertTrue(millis <= CUT_OFF_WITHIN_MILLIS, what + " was cut off only after " + millis + " ms (read timeout "
                + READ_TIMEOUT + ")");
        if (r != null && !r.closedWithoutResponse()) {
            assertTrue(r.status() >= 400 && r.status() < 500, r::toString);
            assertNull(ServeHostileRequestsTest.errorProblem(r), r::toString);
        }
    }

    @Test
    void aBodySentAByteEvery300msIsCutOffWhileOthersAreServed() throws Exception {
        String body = "{\"words\":[\"w1\",\"w2\",\"w3\",\"w4\",\"w5\",\"w6\",\"w7\",\"w8\",\"w9\"]}";
        String request = lookupRequest(body);
        // The whole body at 3 bytes/s would take 20 s.
        slowClientIsCutOffWhileOthersAreServed(request.substring(0, request.length() - body.length()), body,
                "a body sent a byte every 300 ms");
    }

    /**
     * Classic slowloris: headers that never end. Helidon 4.5 applies its read timeout to each read, so a byte every
     * 300 ms keeps such a connection open (docs/SERVER.md, "Fixed limits", says so): what must hold is that it takes
     * no request slot and other clients are served meanwhile. Whether it was cut off is printed, not asserted.
     */
    @Test
    void headersSentAByteEvery300msDoNotHoldOthersBack() throws Exception {
        float[][] values = ServeHostileRequestsTest.createStore(tmp.resolve("t"), Seeds.seed("ServeSlowClientsTest"));
        int limit = 2;
        try (EmbeddingServer server = EmbeddingServer.builder().table("t", tmp.resolve("t")).port(0).maxInFlight(limit)
                .readTimeout(READ_TIMEOUT).build().start()) {
            int port = server.port();
            List<Socket> slow = new ArrayList<>();
            AtomicInteger trickled = new AtomicInteger();
            long start = System.nanoTime();
            try {
                // More slow heads than the server has request slots.
                for (int i = 0; i < 3 * limit; i++) {
                    slow.add(slowClient(port, "POST /v1/tables/t/lookup HTTP/1.1\r\nHost: x\r\n", "X-Slow: " + "a".repeat(200),
                            trickled));
                }
                int served = 0;
                int atTimeout = -1;
                while (System.nanoTime() - start < READ_TIMEOUT.toNanos() + 1_000_000_000L || served < 10) {
                    assertServed(port, values, 1 + served % 150);
                    served++;
                    if (atTimeout < 0 && System.nanoTime() - start > READ_TIMEOUT.toNanos()) {
                        atTimeout = trickled.get();
                    }
                }
                assertTrue(trickled.get() > 0, "the slow clients were sending meanwhile");
                RawHttp.Response health = RawHttp.exchange(port,
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false, 5_000);
                assertEquals(200, health.status(), health::toString);
                System.out.println("ServeSlowClientsTest: " + slow.size() + " heads sent a byte every 300 ms: " + served
                        + " lookups served meanwhile; " + (trickled.get() - atTimeout) + " of their bytes were taken after the"
                        + " read timeout (" + READ_TIMEOUT + ")" + (trickled.get() > atTimeout ? ": not cut off" : ""));
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
            assertServed(port, values, 199);
        }
    }

    private void slowClientIsCutOffWhileOthersAreServed(String head, String trickle, String what) throws Exception {
        float[][] values = ServeHostileRequestsTest.createStore(tmp.resolve("t"), Seeds.seed("ServeSlowClientsTest"));
        try (EmbeddingServer server = EmbeddingServer.builder().table("t", tmp.resolve("t")).port(0)
                .readTimeout(READ_TIMEOUT).build().start()) {
            int port = server.port();
            AtomicInteger trickled = new AtomicInteger();
            long start = System.nanoTime();
            try (Socket slow = slowClient(port, head, trickle, trickled)) {
                // Meanwhile the others are served, again and again.
                int served = 0;
                while (System.nanoTime() - start < READ_TIMEOUT.toNanos() + 500_000_000L || served < 10) {
                    assertServed(port, values, 1 + served % 150);
                    served++;
                }
                assertTrue(trickled.get() > 0, "the slow client was sending meanwhile");
                assertCutOff(slow, start, what);
            }
            assertServed(port, values, 199);
        }
    }

    @Test
    void requestsBeyondTheInFlightLimitGet503WithRetryAfter() throws Exception {
        float[][] values = ServeHostileRequestsTest.createStore(tmp.resolve("t"), Seeds.seed("ServeSlowClientsTest"));
        int limit = 3;
        // A read timeout long enough that the stalled requests hold their places through the test.
        try (EmbeddingServer server = EmbeddingServer.builder().table("t", tmp.resolve("t")).port(0).maxInFlight(limit)
                .readTimeout(Duration.ofSeconds(30)).build().start()) {
            int port = server.port();
            List<Socket> stalled = new ArrayList<>();
            List<String> rests = new ArrayList<>();
            try {
                for (int i = 0; i < limit; i++) {
                    String request = lookupRequest("{\"words\":[\"w" + (10 + i) + "\"]}", "Connection: close\r\n");
                    int cut = request.length() - 4; // headers and the start of the body: the handler waits for the rest
                    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(request.substring(0, cut).getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    stalled.add(s);
                    rests.add(request.substring(cut));
                }
                // The stalled requests reach their handlers in their own time: wait (bounded) until probes are
                // refused three times in a row. One refusal is not enough: a probe answered 200 may still hold its
                // place for a moment after its answer, while a stalled request has not yet taken its own.
                String probe = lookupRequest("{\"ids\":[0]}", "Connection: close\r\n");
                long deadline = System.nanoTime() + 10_000_000_000L;
                RawHttp.Response last;
                int refusedInARow = 0;
                do {
                    last = RawHttp.exchange(port, probe.getBytes(StandardCharsets.US_ASCII), false, 5_000);
                    refusedInARow = last.status() == 503 ? refusedInARow + 1 : 0;
                } while (refusedInARow < 3 && System.nanoTime() < deadline);
                assertEquals(503, last.status(), "with " + limit + " requests in flight: " + last);
                assertEquals(3, refusedInARow, "with " + limit + " requests in flight, still answered: " + last);
                for (int i = 0; i < 5; i++) {
                    RawHttp.Response r = RawHttp.exchange(port, probe.getBytes(StandardCharsets.US_ASCII), false, 5_000);
                    assertEquals(503, r.status(), r::toString);
                    assertEquals("1", r.header("Retry-After"), r::toString);
                    assertNull(ServeHostileRequestsTest.errorProblem(r), r::toString);
                    assertEquals("overloaded", JSON.readTree(r.body()).path("error").path("kind").asText());
                }
                // A health check is not a request for the tables: it still answers.
                RawHttp.Response health = RawHttp.exchange(port,
                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false, 5_000);
                assertEquals(200, health.status(), health::toString);
                // The stalled requests finish and are answered rightly; then there is room again.
                for (int i = 0; i < limit; i++) {
                    Socket s = stalled.get(i);
                    s.getOutputStream().write(rests.get(i).getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    RawHttp.Response r = RawHttp.read(new BufferedInputStream(s.getInputStream()), System.nanoTime() + 10_000_000_000L);
                    assertEquals(200, r.status(), r::toString);
                    JsonNode vector = JSON.readTree(r.body()).path("vectors").get(0);
                    assertEquals(Float.floatToRawIntBits(values[10 + i][0]), Float.floatToRawIntBits(Float.parseFloat(vector.get(0).asText())));
                }
                assertServed(port, values, 42);
            } finally {
                for (Socket s : stalled) {
                    s.close();
                }
            }
        }
    }
}
