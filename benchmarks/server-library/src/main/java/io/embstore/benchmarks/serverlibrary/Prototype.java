package io.embstore.benchmarks.serverlibrary;

import io.embstore.store.EmbeddingStore;

import java.nio.file.Path;

/**
 * Starts one prototype and prints {@code listening on PORT} when ready; runs until killed.
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/server-library/target/server-library.jar \
 *   io.embstore.benchmarks.serverlibrary.Prototype helidon|jdk|netty STORE PORT
 * </pre>
 */
public final class Prototype {
    /**
     * TCP_NODELAY on accepted connections: true unless {@code -Dprototype.tcpNoDelay=false}. Helidon's and the JDK's
     * default is off, and with Nagle on an answer written in two parts waits for the client's delayed ACK (40 ms).
     */
    static final boolean TCP_NO_DELAY = Boolean.parseBoolean(System.getProperty("prototype.tcpNoDelay", "true"));

    private Prototype() {
    }

    /** What a prototype is: started on a port (0 = any), it answers /lookup until the process ends. */
    interface Server {
        int start(NpyLookup lookup, int port) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Prototype helidon|jdk|netty STORE PORT");
            System.exit(2);
        }
        Server server = switch (args[0]) {
            case "helidon" -> new HelidonPrototype();
            case "jdk" -> new JdkPrototype();
            case "netty" -> new NettyPrototype();
            default -> throw new IllegalArgumentException("unknown library " + args[0]);
        };
        EmbeddingStore store = EmbeddingStore.open(Path.of(args[1]));
        int port = server.start(new NpyLookup(store), Integer.parseInt(args[2]));
        System.out.println("listening on " + port);
        System.out.flush();
        Thread.currentThread().join();
    }
}
