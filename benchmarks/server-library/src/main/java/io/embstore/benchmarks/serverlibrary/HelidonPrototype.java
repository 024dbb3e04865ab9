package io.embstore.benchmarks.serverlibrary;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;

/** Helidon SE 4 WebServer: one virtual thread per request, HTTP/1.1, and h2c with helidon-webserver-http2. */
final class HelidonPrototype implements Prototype.Server {
    @Override
    public int start(NpyLookup lookup, int port) {
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(port)
                .connectionOptions(o -> o.tcpNoDelay(Prototype.TCP_NO_DELAY))
                // Tuning under test (benchmarks/results/server-library.md); unset, Helidon's defaults.
                .update(b -> {
                    if (Integer.getInteger("prototype.helidon.writeBufferSize") != null) {
                        b.writeBufferSize(Integer.getInteger("prototype.helidon.writeBufferSize"));
                    }
                    if (Integer.getInteger("prototype.helidon.writeQueueLength") != null) {
                        b.writeQueueLength(Integer.getInteger("prototype.helidon.writeQueueLength"));
                    }
                })
                .routing(r -> r.post("/lookup", (req, res) -> {
                    byte[] npy = lookup.answer(req.content().as(byte[].class));
                    res.header(HeaderNames.CONTENT_TYPE, "application/x-npy");
                    res.send(npy);
                }))
                .build()
                .start();
        return server.port();
    }
}
