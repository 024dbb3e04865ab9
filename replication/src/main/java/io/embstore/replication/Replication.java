package io.embstore.replication;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.BooleanSupplier;

/**
 * Replicas of a table on other machines, kept in step through an Apache Kafka topic: {@link #publish} ships the rows
 * each checkpoint changed (and appended rows with their words) from a trainer's store to the topic, {@link #replicate}
 * applies them to a replica store as its single writer. The record layout and the state files are in
 * docs/FORMAT.md.
 */
public final class Replication {
    private Replication() {
    }

    /**
     * Where the topic is: {@code bootstrap.servers}, the topic, and any other client properties (security settings:
     * {@code security.protocol}, {@code sasl.*}, {@code ssl.*}), passed to every client as given.
     */
    public record Kafka(String bootstrapServers, String topic, Map<String, String> properties) {
        public Kafka {
            Objects.requireNonNull(bootstrapServers, "bootstrapServers");
            Objects.requireNonNull(topic, "topic");
            properties = Map.copyOf(properties);
        }
    }

    /** What one publish sent: the checkpoint generation it is complete up to, the table's rows, rows sent. */
    public record Published(long generation, long rows, long rowsSent, long sequence) {
    }

    /** What a replica has applied: the publisher's checkpoint generation, its rows, rows applied in this run. */
    public record Applied(long generation, long rows, long rowsApplied, long sequence) {
    }

    /** Rows {@code [from, to)} of the table; {@code to} is {@link Long#MAX_VALUE} for "to the end". */
    public record RowRange(long from, long to) {
        public static final RowRange ALL = new RowRange(0, Long.MAX_VALUE);

        public RowRange {
            if (from < 0 || to <= from) {
                throw new IllegalArgumentException("row range must be A:B with 0 <= A < B, or A: to the end; got "
                        + from + ":" + (to == Long.MAX_VALUE ? "" : to));
            }
        }

        /** Parses {@code A:B} or {@code A:}. */
        public static RowRange parse(String text) {
            int colon = text.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("row range '" + text + "' must be A:B or A:");
            }
            try {
                long a = Long.parseLong(text.substring(0, colon).strip());
                String b = text.substring(colon + 1).strip();
                return new RowRange(a, b.isEmpty() ? Long.MAX_VALUE : Long.parseLong(b));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("row range '" + text + "' must be A:B or A: with row numbers");
            }
        }

        boolean contains(long row) {
            return row >= from && row < to;
        }

        @Override
        public String toString() {
            return from + ":" + (to == Long.MAX_VALUE ? "" : Long.toString(to));
        }
    }

    /**
     * Publishes what changed in {@code store} since the last publish to the topic (everything, the first time: that
     * bootstraps a new topic from the whole store), creating the topic with {@code partitions} partitions and
     * compaction if it does not exist. With {@code follow}, keeps publishing after each checkpoint of a live trainer
     * until {@code stop} says so, polling every {@code pollMillis}; each publish is reported to {@code report}, but
     * after the first only those that sent a marker (a look that found nothing new is not). Opens the store read-only:
     * it never blocks the trainer. What was published is remembered in a state file in the store directory
     * (docs/FORMAT.md), written after the topic holds the rows and the marker, so a publisher killed at any point
     * resends at most the last delta.
     *
     * <p>Following, a publisher whose brokers stop answering ({@link ReplicationException#brokersUnavailable}) says so
     * to {@code notice} and tries again, waiting 1 s, then twice as long each time up to 30 s; its next publish sends
     * everything since the last one the brokers acknowledged. Without {@code follow} it fails instead.
     *
     * @return the last publish, or null if stopped while retrying before the first
     * @throws ReplicationException if the topic holds other records, or a table of another shape, or Kafka fails
     */
    public static Published publish(Path store, Kafka kafka, int partitions, boolean follow, long pollMillis,
                                    BooleanSupplier stop, Consumer<Published> report, Consumer<String> notice) {
        Retry retry = new Retry(follow, stop, notice);
        Published last = null;
        while (true) {
            try (Publisher p = Publisher.open(store, kafka, partitions)) {
                last = reportNew(p.publishOnce(), last, report);
                retry.succeeded();
                while (follow && !stop.getAsBoolean()) {
                    sleep(pollMillis);
                    if (p.hasNews()) {
                        last = reportNew(p.publishOnce(), last, report);
                    }
                }
                return last;
            } catch (ReplicationException e) {
                if (!retry.after(e)) {
                    return last;
                }
            }
        }
    }

    /**
     * Reports {@code p} unless it is {@code last} again (same sequence: a look that found nothing new and sent no
     * marker, which a following publisher makes whenever the store moved outside a checkpoint), and returns it.
     */
    private static Published reportNew(Published p, Published last, Consumer<Published> report) {
        if (last == null || p.sequence() != last.sequence()) {
            report.accept(p);
        }
        return p;
    }

    /**
     * Creates a replica of the topic's table in {@code dir} (or follows the existing one) and applies the topic's
     * records as its single writer. With {@code once}, applies what the topic holds up to its latest checkpoint marker
     * and returns; otherwise follows until {@code stop} says so. A row range makes the replica a shard: it reads only
     * the partitions that cover the rows, and holds table row {@code r} at its row {@code r - range.from()}. Each
     * completed checkpoint is reported to {@code report} after its rows are durable and the offsets are recorded.
     *
     * <p>Following, a replica whose brokers stop answering says so to {@code notice} (and again when they answer) and
     * keeps trying (the consumer reconnects by itself; a failed call is retried as the publisher's are), resuming from
     * the offsets it recorded. With {@code once} it fails instead.
     *
     * @return what the replica holds, or the last checkpoint applied if stopped while retrying (null if none was)
     * @throws ReplicationException if a record is not an embstore record or is for a table of another shape (nothing
     *                              of it applied), if {@code dir} is a store but not a replica of this topic and range,
     *                              or Kafka fails
     */
    public static Applied replicate(Path dir, Kafka kafka, RowRange range, boolean once, BooleanSupplier stop,
                                    Consumer<Applied> report, Consumer<String> notice) {
        return replicate(dir, kafka, range, once, stop, report, notice, () -> { });
    }

    /** {@link #replicate}, running {@code afterCreate} between a new replica's store and its first state file. */
    static Applied replicate(Path dir, Kafka kafka, RowRange range, boolean once, BooleanSupplier stop,
                             Consumer<Applied> report, Consumer<String> notice, Runnable afterCreate) {
        Retry retry = new Retry(!once, stop, notice);
        AtomicReference<Applied> last = new AtomicReference<>();
        while (true) {
            try (Replica r = Replica.open(dir, kafka, range, afterCreate)) {
                return r.run(once, stop, a -> {
                    retry.succeeded();
                    last.set(a);
                    report.accept(a);
                }, notice);
            } catch (ReplicationException e) {
                if (!retry.after(e)) {
                    return last.get();
                }
            }
        }
    }

    /** The retrying of a following publisher or replica whose brokers do not answer: 1 s, doubling up to 30 s. */
    private static final class Retry {
        private static final long FIRST = 1000;
        private static final long MOST = 30_000;
        private final boolean enabled;
        private final BooleanSupplier stop;
        private final Consumer<String> notice;
        private long wait = FIRST;

        Retry(boolean enabled, BooleanSupplier stop, Consumer<String> notice) {
            this.enabled = enabled;
            this.stop = stop;
            this.notice = notice;
        }

        void succeeded() {
            wait = FIRST;
        }

        /** Rethrows {@code e} unless it is worth retrying; waits, and returns whether to try again (not stopped). */
        boolean after(ReplicationException e) {
            if (!enabled || !e.brokersUnavailable()) {
                throw e;
            }
            notice.accept(e.getMessage() + "; trying again in " + wait / 1000 + " s");
            long until = System.nanoTime() + wait * 1_000_000;
            wait = Math.min(MOST, wait * 2);
            while (System.nanoTime() < until) {
                if (stop.getAsBoolean()) {
                    return false;
                }
                sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
            return !stop.getAsBoolean();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ReplicationException("interrupted");
        }
    }
}
