package io.embstore.server;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters behind {@code GET /metrics}, written in Prometheus' text format (version 0.0.4). Every counter is a
 * {@link LongAdder}: requests on many virtual threads update them without contending.
 */
final class ServerMetrics {
    /** Upper bounds of the latency buckets, in seconds (+Inf is implied). */
    private static final double[] BUCKETS = {
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    /** The same bounds as Prometheus' {@code le} labels (plain decimals, not Java's 5.0E-4). */
    private static final String[] BUCKET_LABELS = {
            "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> rowsServed = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger();

    private static final class Histogram {
        final LongAdder[] counts = new LongAdder[BUCKETS.length + 1];
        final LongAdder sumNanos = new LongAdder();

        Histogram() {
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
        }

        void record(long nanos) {
            double seconds = nanos / 1e9;
            int i = 0;
            while (i < BUCKETS.length && seconds > BUCKETS[i]) {
                i++;
            }
            counts[i].increment();
            sumNanos.add(nanos);
        }
    }

    /** A request counted in flight began (its answer is recorded by {@link #answered}). */
    void entered() {
        inFlight.incrementAndGet();
    }

    void left() {
        inFlight.decrementAndGet();
    }

    void answered(String endpoint, int status, long nanos) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, key -> new LongAdder()).increment();
        latency.computeIfAbsent(endpoint, key -> new Histogram()).record(nanos);
    }

    void error(String kind) {
        errors.computeIfAbsent(kind, key -> new LongAdder()).increment();
    }

    void rowsServed(String table, long rows) {
        rowsServed.computeIfAbsent(table, key -> new LongAdder()).add(rows);
    }

    int inFlight() {
        return inFlight.get();
    }

    /** The exposition text. Table names are of [A-Za-z0-9._-], so no label value needs escaping. */
    String text() {
        StringBuilder b = new StringBuilder(4096);
        b.append("# HELP embstore_requests_total Requests answered, by endpoint and HTTP status.\n");
        b.append("# TYPE embstore_requests_total counter\n");
        for (Map.Entry<String, LongAdder> e : new TreeMap<>(requests).entrySet()) {
            int split = e.getKey().indexOf('\u0000');
            b.append("embstore_requests_total{endpoint=\"").append(e.getKey(), 0, split)
                    .append("\",status=\"").append(e.getKey(), split + 1, e.getKey().length()).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        b.append("# HELP embstore_rows_served_total Rows returned by lookups (missing words included), by table.\n");
        b.append("# TYPE embstore_rows_served_total counter\n");
        for (Map.Entry<String, LongAdder> e : new TreeMap<>(rowsServed).entrySet()) {
            b.append("embstore_rows_served_total{table=\"").append(e.getKey()).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        b.append("# HELP embstore_request_duration_seconds Time from routing a request to its answer, by endpoint.\n");
        b.append("# TYPE embstore_request_duration_seconds histogram\n");
        for (Map.Entry<String, Histogram> e : new TreeMap<>(latency).entrySet()) {
            Histogram h = e.getValue();
            long cumulative = 0;
            for (int i = 0; i <= BUCKETS.length; i++) {
                cumulative += h.counts[i].sum();
                b.append("embstore_request_duration_seconds_bucket{endpoint=\"").append(e.getKey()).append("\",le=\"")
                        .append(i < BUCKETS.length ? BUCKET_LABELS[i] : "+Inf").append("\"} ")
                        .append(cumulative).append('\n');
            }
            b.append("embstore_request_duration_seconds_sum{endpoint=\"").append(e.getKey()).append("\"} ")
                    .append(String.format(Locale.ROOT, "%.9f", h.sumNanos.sum() / 1e9)).append('\n');
            b.append("embstore_request_duration_seconds_count{endpoint=\"").append(e.getKey()).append("\"} ")
                    .append(cumulative).append('\n');
        }
        b.append("# HELP embstore_errors_total Error answers, by error kind.\n");
        b.append("# TYPE embstore_errors_total counter\n");
        for (Map.Entry<String, LongAdder> e : new TreeMap<>(errors).entrySet()) {
            b.append("embstore_errors_total{kind=\"").append(e.getKey()).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        b.append("# HELP embstore_in_flight Requests being handled now (GET /healthz is not counted).\n");
        b.append("# TYPE embstore_in_flight gauge\n");
        b.append("embstore_in_flight ").append(inFlight.get()).append('\n');
        return b.toString();
    }
}
