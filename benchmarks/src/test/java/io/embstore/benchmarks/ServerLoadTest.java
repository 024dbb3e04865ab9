package io.embstore.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.embstore.store.EmbeddingStore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link ServerLoad} for a fraction of a second against an HTTP server and a RESP server made here (loopback,
 * two clients), so that the load generator of the server benchmarks cannot rot: the answers it counts are the ones
 * it was sent, a short or failed answer stops the run with an error, and {@code load} stores every row's bytes.
 */
class ServerLoadTest {
    static final int ROWS = 200;
    static final int DIM = 7;

    @TempDir
    Path dir;

    private Path wordStore() {
        return TestStores.wordStore(dir, ROWS, DIM);
    }

    private static String run(String... args) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, ServerLoad.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8)), String.join(" ", args));
        return bytes.toString(StandardCharsets.UTF_8).trim();
    }

    private static double field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([-0-9.eE]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    /** An answer of (batch x DIM) float32 rows after a 128-byte header; chunked for {@code /chunked}. */
    private static HttpServer npyServer(int batch) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        byte[] npy = new byte[128 + batch * DIM * Float.BYTES];
        server.createContext("/lookup", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.sendResponseHeaders(200, npy.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(npy);
            }
        });
        server.createContext("/chunked", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(npy, 0, 100);
                out.flush();
                out.write(npy, 100, npy.length - 100);
            }
        });
        server.createContext("/short", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.sendResponseHeaders(200, 10);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(new byte[10]);
            }
        });
        server.start();
        return server;
    }

    @Test
    void httpLookupCountsEveryAnsweredRowWithContentLengthOrChunked() throws Exception {
        Path store = wordStore();
        HttpServer server = npyServer(16);
        try {
            for (String path : new String[] {"/lookup", "/chunked"}) {
                String out = run("run", "proto=http", "op=lookup", "path=" + path, "port=" + server.getAddress().getPort(),
                        "store=" + store, "conns=2", "seconds=0.3", "warmup=0.1", "batch=16");
                System.out.println(out);
                assertTrue(field(out, "requests") > 0, out);
                assertEquals(field(out, "requests") * 16, field(out, "rows"), out);
                assertTrue(field(out, "p50_ms") <= field(out, "p99_ms"), out);
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aShortOrFailedAnswerStopsTheRunWithAnError() throws Exception {
        Path store = wordStore();
        HttpServer server = npyServer(16);
        try {
            for (String path : new String[] {"/short", "/absent"}) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> run("run", "proto=http",
                        "path=" + path, "port=" + server.getAddress().getPort(), "store=" + store, "conns=2",
                        "seconds=5", "warmup=0", "batch=16"));
                assertTrue(e.getMessage().contains(path.equals("/short") ? "npy answer of 10 bytes" : "404"), e.getMessage());
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void redisLoadSetsEveryRowAndMgetCountsTheValues() throws Exception {
        Path store = wordStore();
        Map<String, byte[]> kv = new ConcurrentHashMap<>();
        try (ServerSocket listener = new ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofPlatform().daemon().start(() -> {
                while (true) {
                    try {
                        Socket s = listener.accept();
                        Thread.ofPlatform().daemon().start(() -> miniRedis(s, kv));
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
            int port = listener.getLocalPort();
            run("load", "port=" + port, "store=" + store);
            assertEquals(ROWS, kv.size());
            try (EmbeddingStore s = EmbeddingStore.open(store)) {
                float[] row = new float[DIM];
                s.read(17, row);
                ByteBuffer expected = ByteBuffer.allocate(DIM * 4).order(ByteOrder.LITTLE_ENDIAN);
                expected.asFloatBuffer().put(row);
                assertTrue(java.util.Arrays.equals(expected.array(), kv.get(s.word(17))), "row 17's bytes, little-endian");
            }
            String mget = run("run", "proto=resp", "op=lookup", "port=" + port, "store=" + store, "conns=2",
                    "seconds=0.3", "warmup=0.1", "batch=32");
            System.out.println(mget);
            assertEquals(field(mget, "requests") * 32, field(mget, "rows"), mget);
            String get = run("run", "proto=resp", "op=get", "port=" + port, "store=" + store, "conns=2",
                    "seconds=0.3", "warmup=0.1", "batch=1");
            assertTrue(field(get, "requests") > 0, get);
        }
    }

    /** Just enough of Redis: SET, GET, MGET, DBSIZE over RESP arrays of bulk strings. */
    private static void miniRedis(Socket s, Map<String, byte[]> kv) {
        try (s) {
            ServerLoad.Input in = new ServerLoad.Input(s.getInputStream());
            OutputStream out = new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16);
            while (true) {
                String head;
                try {
                    head = in.line();
                } catch (java.io.EOFException end) {
                    return;
                }
                int n = Integer.parseInt(head.substring(1));
                List<byte[]> parts = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    int len = Integer.parseInt(in.line().substring(1));
                    byte[] b = new byte[len];
                    for (int j = 0; j < len; j++) {
                        b[j] = (byte) in.readByte();
                    }
                    in.line();
                    parts.add(b);
                }
                String cmd = new String(parts.get(0), StandardCharsets.US_ASCII);
                switch (cmd) {
                    case "SET" -> {
                        kv.put(new String(parts.get(1), StandardCharsets.UTF_8), parts.get(2));
                        out.write("+OK\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                    case "DBSIZE" -> out.write((":" + kv.size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    case "GET", "MGET" -> {
                        if (cmd.equals("MGET")) {
                            out.write(("*" + (n - 1) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        }
                        for (int i = 1; i < n; i++) {
                            byte[] v = kv.get(new String(parts.get(i), StandardCharsets.UTF_8));
                            out.write(("$" + v.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                            out.write(v);
                            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        }
                    }
                    default -> out.write(("-ERR unknown " + cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                out.flush();
            }
        } catch (IOException e) {
            // the client went away
        }
    }
}
