package io.embstore.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The clean stop of a following command ({@code publish --follow}, {@code replicate}): SIGTERM or SIGINT runs the
 * shutdown hook, which asks the command's loop to stop, waits until it has closed its store and Kafka clients, and ends
 * the JVM with status 0 (a JVM ended by a signal otherwise exits 143 or 130), as {@code serve} does.
 */
final class StopOnSignal implements BooleanSupplier {
    /** How long the hook waits for the loop (a poll, a publish in progress) before the JVM ends anyway. */
    private static final long WAIT_SECONDS = 30;

    private volatile boolean stop;
    private final CountDownLatch finished = new CountDownLatch(1);

    static StopOnSignal install(String name) {
        StopOnSignal s = new StopOnSignal();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            s.stop = true;
            try {
                s.finished.await(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(ExitCode.OK);
        }, name));
        return s;
    }

    @Override
    public boolean getAsBoolean() {
        return stop;
    }

    /** The loop has returned and closed what it opened. */
    void finished() {
        finished.countDown();
    }
}
