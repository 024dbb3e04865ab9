package io.embstore.benchmarks;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.ReadMode;
import io.embstore.store.Init;
import io.embstore.trainer.SparseTrainer;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The embstore side of the peer harness ({@code benchmarks/peers/run}) for the rows that need code inside the JVM:
 * each subcommand does what its Python counterpart in {@code benchmarks/peers/} does, on the same files, and prints
 * one JSON line. Not a benchmark of its own: the harness runs it in fresh processes, alternating with the peer, and
 * takes medians.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.embstore.benchmarks.PeerProbe CMD key=value...
 *   open      store=DIR word=W                  open + rowOf + read one row; the in-process time of that
 *   reader    store=DIR                         open, read every row (sum), print, then wait for stdin to close
 *   gather    store=DIR ids=FILE batch=N rounds=R [mode=consistent|relaxed]
 *                                               rows/s of gather over the ids, one thread; median of R passes
 *   create    store=DIR rows=N dim=D seed=S     a table of Normal(0, 1) rows (the optimizer's start)
 *   optimizer dir=DIR rows=N dim=D seed=S ids=FILE grads=FILE batch=N threads=T warmup=W window=S windows=K
 *             [forward=true] [undo=true|false]  lazy Adam steps on a fresh table in DIR/table (deleted after):
 *                                               unique rows/s, median of K windows of S steps after a sweep over
 *                                               every row and W warm-up steps
 * </pre>
 * Id files are raw little-endian int32, gradient files raw little-endian float32 ({@code batch x dim}): numpy's
 * {@code tofile} of {@code <i4} and {@code <f4} arrays, so both sides read the very same ids.
 */
public final class PeerProbe {
    private PeerProbe() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.in));
    }

    /** Runs one subcommand; returns the exit code. The test runs every subcommand through here. */
    static int run(String[] args, PrintStream out, InputStream in) {
        if (args.length == 0) {
            System.err.println("usage: PeerProbe open|reader|gather|create|optimizer key=value...");
            return 2;
        }
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 0) {
                System.err.println("PeerProbe: expected key=value, got " + args[i]);
                return 2;
            }
            a.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        switch (args[0]) {
            case "open" -> open(Path.of(a.get("store")), a.get("word"), out);
            case "reader" -> reader(Path.of(a.get("store")), out, in);
            case "gather" -> gather(Path.of(a.get("store")), Path.of(a.get("ids")), integer(a, "batch"),
                    integer(a, "rounds"), "relaxed".equals(a.get("mode")) ? ReadMode.RELAXED : ReadMode.CONSISTENT, out);
            case "create" -> create(Path.of(a.get("store")), integer(a, "rows"), integer(a, "dim"), integer(a, "seed"), out);
            case "optimizer" -> optimizer(a, out);
            default -> {
                System.err.println("PeerProbe: unknown subcommand " + args[0]);
                return 2;
            }
        }
        return 0;
    }

    private static int integer(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("PeerProbe: missing " + key + "=");
        }
        return Integer.parseInt(v);
    }

    /**
     * Open and first lookup, as a user's first request would see it. The clock starts before {@code open}, so class
     * loading of the store is counted (the peer's time likewise counts gensim's unpickling but not its import).
     */
    static void open(Path dir, String word, PrintStream out) {
        long t0 = System.nanoTime();
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            long row = store.rowOf(word);
            if (row < 0) {
                throw new IllegalArgumentException(word + " is not in " + dir);
            }
            float[] v = new float[store.dim()];
            store.read(row, v);
            long t = System.nanoTime() - t0;
            out.println("{\"open_lookup_ms\": " + t / 1e6 + ", \"row\": " + row + ", \"sum\": " + sum(v, v.length) + "}");
        }
    }

    /**
     * A serving process: maps the table, reads every row once (so every page of the matrix is resident in this
     * process), reports, then stays alive until stdin closes so that the harness can read its /proc/PID/smaps.
     */
    static void reader(Path dir, PrintStream out, InputStream in) {
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            int dim = store.dim();
            int block = 1024;
            float[] buf = new float[block * dim];
            int[] ids = new int[block];
            double total = 0;
            for (long base = 0; base < store.rows(); base += block) {
                int n = (int) Math.min(block, store.rows() - base);
                for (int i = 0; i < n; i++) {
                    ids[i] = (int) (base + i);
                }
                int[] batch = n == block ? ids : Arrays.copyOf(ids, n);
                store.gather(batch, buf);
                total += sum(buf, n * dim);
            }
            out.println("{\"ready\": true, \"rows\": " + store.rows() + ", \"sum\": " + total + "}");
            out.flush();
            while (in.read() >= 0) {
                // Waiting: the harness closes our stdin once it has read the memory figures.
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code gather} of the ids in batches, one thread, into one reused destination. One untimed pass first (page
     * faults and JIT), then {@code rounds} timed passes; prints the median pass's rows per second and a checksum of the
     * last batch gathered.
     */
    static void gather(Path dir, Path idsFile, int batch, int rounds, ReadMode mode, PrintStream out) {
        int[] all = readInts(idsFile);
        int batches = all.length / batch;
        if (batches == 0) {
            throw new IllegalArgumentException(idsFile + " has " + all.length + " ids, fewer than one batch of " + batch);
        }
        int[][] ids = new int[batches][];
        for (int b = 0; b < batches; b++) {
            ids[b] = Arrays.copyOfRange(all, b * batch, (b + 1) * batch);
        }
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            float[] dst = new float[batch * store.dim()];
            for (int[] b : ids) {
                store.gather(b, dst, mode);
            }
            double[] rate = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                for (int[] b : ids) {
                    store.gather(b, dst, mode);
                }
                rate[r] = (double) batches * batch / ((System.nanoTime() - t0) / 1e9);
            }
            Arrays.sort(rate);
            out.println("{\"rows_s\": " + rate[rounds / 2] + ", \"last_batch_sum\": " + sum(dst, dst.length) + "}");
        }
    }

    /** The optimizer's starting table, also read by the torch side ({@code matrix.npy}); Init.normal is deterministic. */
    static void create(Path dir, int rows, int dim, long seed, PrintStream out) {
        try (WritableStore store = EmbeddingStore.builder(dir).vocabulary(false).rows(rows).dim(dim)
                .init(Init.normal(seed)).create()) {
            out.println("{\"rows\": " + store.rows() + ", \"dim\": " + store.dim() + "}");
        }
    }

    /**
     * Lazy Adam steps on a fresh table (the same Normal(seed) rows as {@link #create}) in {@code dir/table}, deleted
     * afterwards. First, untimed, one sweep over every row in order ({@code batch} consecutive ids per step, the same
     * gradients), as the first epoch of a real training run would: every page of the weights and the optimizer state
     * is then resident, so the timed steps measure the optimizer and not first-touch page faults (which on the torch
     * side zero a 2 MB huge page of its {@code zeros_like} state per fault, about 100 ms a step). Then step {@code s}
     * takes batch {@code s} of the id file.
     * With {@code forward=true} each step first gathers its rows (relaxed: this process is the table's only writer),
     * the counterpart of {@code nn.Embedding}'s forward before the backward and the step.
     */
    static void optimizer(Map<String, String> a, PrintStream out) {
        Path dir = Path.of(a.get("dir"));
        int rows = integer(a, "rows");
        int dim = integer(a, "dim");
        int batch = integer(a, "batch");
        int warmup = integer(a, "warmup");
        int window = integer(a, "window");
        int windows = integer(a, "windows");
        boolean forward = Boolean.parseBoolean(a.getOrDefault("forward", "false"));
        boolean undo = Boolean.parseBoolean(a.getOrDefault("undo", "true"));
        int[] all = readInts(Path.of(a.get("ids")));
        float[] grads = readFloats(Path.of(a.get("grads")));
        int steps = warmup + window * windows;
        if (all.length < (long) steps * batch || grads.length != batch * dim) {
            throw new IllegalArgumentException("need " + steps + " batches of " + batch + " ids and " + batch + " x "
                    + dim + " gradients; the files hold " + all.length + " ids and " + grads.length + " floats");
        }
        Path table = dir.resolve("table");
        try {
            Files.createDirectories(dir);
            try (WritableStore store = EmbeddingStore.builder(table).vocabulary(false).rows(rows).dim(dim)
                    .init(Init.normal(integer(a, "seed"))).create();
                 SparseTrainer trainer = SparseTrainer.attach(store, SparseTrainer.Options.adam().learningRate(1e-3)
                         .threads(integer(a, "threads")).undoLog(undo).build())) {
                float[] activations = new float[batch * dim];
                int[] ids = new int[batch];
                double[] rate = new double[windows];
                long uniqueTotal = 0;
                for (int base = 0; base < rows; base += batch) {
                    int n = Math.min(batch, rows - base);
                    int[] sweep = IntStream.range(base, base + n).toArray();
                    oneStep(store, trainer, sweep, n == batch ? grads : Arrays.copyOf(grads, n * dim), activations, forward);
                }
                for (int s = 0; s < warmup; s++) {
                    System.arraycopy(all, s * batch, ids, 0, batch);
                    oneStep(store, trainer, ids, grads, activations, forward);
                }
                for (int w = 0; w < windows; w++) {
                    long unique = 0;
                    long time = 0;
                    for (int s = warmup + w * window; s < warmup + (w + 1) * window; s++) {
                        System.arraycopy(all, s * batch, ids, 0, batch);
                        unique += IntStream.of(ids).distinct().count();
                        long t0 = System.nanoTime();
                        oneStep(store, trainer, ids, grads, activations, forward);
                        time += System.nanoTime() - t0;
                    }
                    rate[w] = unique / (time / 1e9);
                    uniqueTotal += unique;
                }
                Arrays.sort(rate);
                float[] row = new float[dim];
                store.read(all[0], row);
                out.println("{\"unique_rows_s\": " + rate[windows / 2] + ", \"unique_per_step\": "
                        + uniqueTotal / (double) (window * windows) + ", \"steps\": " + trainer.steps()
                        + ", \"row0_sum\": " + sum(row, dim) + "}");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(table);
        }
    }

    private static void oneStep(EmbeddingStore store, SparseTrainer trainer, int[] ids, float[] grads, float[] activations,
                                boolean forward) {
        if (forward) {
            store.gather(ids, activations, ReadMode.RELAXED);
        }
        trainer.step(ids, grads);
    }

    static double sum(float[] v, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += v[i];
        }
        return s;
    }

    static int[] readInts(Path file) {
        ByteBuffer b = readLittleEndian(file);
        int[] out = new int[b.remaining() / Integer.BYTES];
        b.asIntBuffer().get(out);
        return out;
    }

    static float[] readFloats(Path file) {
        ByteBuffer b = readLittleEndian(file);
        float[] out = new float[b.remaining() / Float.BYTES];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static ByteBuffer readLittleEndian(Path file) {
        try {
            return ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
