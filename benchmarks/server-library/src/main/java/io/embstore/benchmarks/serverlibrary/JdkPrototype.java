package io.embstore.benchmarks.serverlibrary;

import com.sun.net.httpserver.HttpServer;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;

/** The JDK's com.sun.net.httpserver.HttpServer with a virtual thread per request; HTTP/1.1 only. */
final class JdkPrototype implements Prototype.Server {
    @Override
    public int start(NpyLookup lookup, int port) throws Exception {
        // The JDK server reads its socket options from system properties, once, when its class loads.
        System.setProperty("sun.net.httpserver.nodelay", Boolean.toString(Prototype.TCP_NO_DELAY));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/lookup", exchange -> {
            byte[] npy = lookup.answer(exchange.getRequestBody().readAllBytes());
            exchange.getResponseHeaders().set("Content-Type", "application/x-npy");
            exchange.sendResponseHeaders(200, npy.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(npy);
            }
        });
        server.start();
        return server.getAddress().getPort();
    }
}
