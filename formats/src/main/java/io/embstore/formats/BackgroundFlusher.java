package io.embstore.formats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;

/**
 * Forces a file being written to disk in the background, each time another {@link #STEP} bytes were written, so that
 * the disk works while the writers are still formatting and the final {@code force} finds little left to write.
 *
 * <p>Never interrupted: an interrupt during {@link FileChannel#force} would close the channel under the writers.
 */
final class BackgroundFlusher implements AutoCloseable {
    static final long STEP = 64L << 20;

    private final FileChannel channel;
    private final Thread thread;
    private long pending;
    private boolean done;
    private IOException failure;

    BackgroundFlusher(FileChannel channel) {
        this.channel = channel;
        this.thread = new Thread(this::run, "embstore-flush");
        thread.setDaemon(true);
        thread.start();
    }

    /** {@code bytes} more were written. */
    synchronized void written(long bytes) {
        pending += bytes;
        if (pending >= STEP) {
            notifyAll();
        }
    }

    private void run() {
        while (true) {
            synchronized (this) {
                while (!done && pending < STEP) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (done) {
                    return;
                }
                pending = 0;
            }
            try {
                channel.force(false);
            } catch (IOException e) {
                synchronized (this) {
                    failure = e;
                    done = true;
                }
                return;
            }
        }
    }

    /** Stops the flusher after its current force and reports a failed one. */
    void finish() {
        stop();
        synchronized (this) {
            if (failure != null) {
                throw new UncheckedIOException("cannot force the file to disk: " + failure.getMessage(), failure);
            }
        }
    }

    private void stop() {
        synchronized (this) {
            done = true;
            notifyAll();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
