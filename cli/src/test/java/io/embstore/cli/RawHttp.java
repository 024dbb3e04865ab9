package io.embstore.cli;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.x spoken byte by byte over a plain socket to a server on loopback, for requests no HTTP client library would
 * send (garbage, lies in Content-Length, absurd headers). One request per connection: the response is read to its
 * end (Content-Length, chunked, or the connection's close) or until the timeout.
 */
final class RawHttp {
    private RawHttp() {
    }

    /** The status of a {@link Response} that is not HTTP/1.x (its bytes are the body). */
    static final int NOT_HTTP1 = 0;

    /** What came back: a parsed response, or the connection closed (or reset) without one. */
    record Response(int status, String statusLine, Map<String, String> headers, byte[] body, boolean closedWithoutResponse) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            if (closedWithoutResponse) {
                return "(connection closed without a response)";
            }
            if (status == NOT_HTTP1) {
                return "(not HTTP/1.x) " + printable(body);
            }
            String text = bodyText();
            return statusLine + " " + headers + "\n" + (text.length() > 2000 ? text.substring(0, 2000) + "..." : text);
        }
    }

    /** A response that did not come within the timeout, with what had arrived. */
    static final class NoAnswer extends IOException {
        NoAnswer(String message) {
            super(message);
        }
    }

    /**
     * Connects to loopback {@code port}, writes {@code request} (then closes the sending side when {@code halfClose})
     * and reads one response. The bytes go out from another thread: a server that stops reading a huge request must
     * not block this one, which reads what the server says meanwhile.
     */
    static Response exchange(int port, byte[] request, boolean halfClose, int timeoutMillis) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(timeoutMillis);
            socket.setTcpNoDelay(true);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(request);
                    out.flush();
                    if (halfClose) {
                        socket.shutdownOutput();
                    }
                } catch (IOException e) {
                    // The server answered and closed before reading all of the request: its answer, if any, is read.
                }
            });
            try {
                return read(new BufferedInputStream(socket.getInputStream()), System.nanoTime() + timeoutMillis * 1_000_000L);
            } finally {
                socket.close(); // unblocks the writer
                try {
                    writer.join(timeoutMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Reads one response from {@code in}; the socket's read timeout bounds each read, {@code deadline} the whole. */
    static Response read(InputStream in, long deadlineNanos) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        try {
            int matched = 0;
            while (matched < 4) {
                int b = readByte(in, deadlineNanos);
                if (b < 0) {
                    if (head.size() == 0) {
                        return closed();
                    }
                    throw new IOException("the connection closed in the middle of a response head: " + printable(head.toByteArray()));
                }
                head.write(b);
                if (head.size() == 1 && b != 'H') {
                    // Not an HTTP/1 status line (an HTTP/2 server's frames, say): the bytes as they come, to the end.
                    head.writeBytes(readToEnd(in, deadlineNanos));
                    return new Response(NOT_HTTP1, "(not HTTP/1.x)", Map.of(), head.toByteArray(), false);
                }
                matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
                if (head.size() > 1 << 20) {
                    throw new IOException("a response head of over 1 MiB");
                }
            }
        } catch (java.net.SocketException e) {
            if (head.size() == 0) {
                return closed(); // reset before any byte: the server dropped the connection
            }
            throw e;
        }
        String[] lines = new String(head.toByteArray(), StandardCharsets.ISO_8859_1).split("\r\n");
        String statusLine = lines[0];
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x status line: " + printable(head.toByteArray()));
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.merge(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip(),
                        (a, b) -> a + ", " + b);
            }
        }
        byte[] body;
        String length = headers.get("content-length");
        if (status == 204 || status == 304 || status / 100 == 1) {
            body = new byte[0];
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(in, deadlineNanos);
        } else if (length != null) {
            body = readExactly(in, Integer.parseInt(length), deadlineNanos);
        } else {
            body = readToEnd(in, deadlineNanos);
        }
        return new Response(status, statusLine, headers, body, false);
    }

    private static Response closed() {
        return new Response(-1, "", Map.of(), new byte[0], true);
    }

    private static int readByte(InputStream in, long deadlineNanos) throws IOException {
        if (System.nanoTime() > deadlineNanos) {
            throw new NoAnswer("no complete response before the deadline");
        }
        try {
            return in.read();
        } catch (SocketTimeoutException e) {
            throw new NoAnswer("no complete response before the timeout");
        }
    }

    private static byte[] readExactly(InputStream in, int n, long deadlineNanos) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(n);
        for (int i = 0; i < n; i++) {
            int b = readByte(in, deadlineNanos);
            if (b < 0) {
                throw new IOException("the body ended after " + i + " of its " + n + " bytes");
            }
            out.write(b);
        }
        return out.toByteArray();
    }

    private static byte[] readToEnd(InputStream in, long deadlineNanos) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int b; (b = readByte(in, deadlineNanos)) >= 0; ) {
            out.write(b);
        }
        return out.toByteArray();
    }

    private static byte[] dechunk(InputStream in, long deadlineNanos) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = line(in, deadlineNanos);
            int semicolon = sizeLine.indexOf(';');
            int size = Integer.parseInt((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).strip(), 16);
            if (size == 0) {
                while (!line(in, deadlineNanos).isEmpty()) {
                    // trailers
                }
                return out.toByteArray();
            }
            out.write(readExactly(in, size, deadlineNanos));
            if (!line(in, deadlineNanos).isEmpty()) {
                throw new IOException("a chunk not followed by CRLF");
            }
        }
    }

    private static String line(InputStream in, long deadlineNanos) throws IOException {
        StringBuilder s = new StringBuilder();
        for (int b; (b = readByte(in, deadlineNanos)) != '\n'; ) {
            if (b < 0) {
                throw new IOException("the connection closed inside a chunked body");
            }
            if (b != '\r') {
                s.append((char) b);
            }
        }
        return s.toString();
    }

    /** Bytes as text for a failure message: printable ASCII kept, the rest escaped, at most 300 bytes. */
    static String printable(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.length, 300); i++) {
            int b = bytes[i] & 0xff;
            if (b >= 0x20 && b < 0x7f) {
                s.append((char) b);
            } else if (b == '\r') {
                s.append("\\r");
            } else if (b == '\n') {
                s.append("\\n");
            } else {
                s.append(String.format("\\x%02x", b));
            }
        }
        return bytes.length > 300 ? s + "... (" + bytes.length + " bytes)" : s.toString();
    }
}
