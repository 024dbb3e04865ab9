package io.embstore.formats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The file a plain export writes: bytes put at any offset by any thread are gathered into aligned chunks, and each
 * chunk, once whole, is written by one background thread with direct I/O ({@code O_DIRECT}, around the page cache).
 *
 * <p>Why direct I/O: writing through the page cache costs the writing process a kernel copy of every byte into
 * freshly allocated cache pages, then writeback: system CPU that the formatting threads need. A direct write is a DMA
 * from the chunk, several times less system CPU per gigabyte, and the disk works while the formatting goes on (the
 * figures: benchmarks/results/conversion.md, "Export, session 3"). The file is still forced ({@code fsync}) before
 * {@link #finish} returns, for its length and the disk's cache.
 *
 * <p>Direct I/O is the JDK's {@code com.sun.nio.file.ExtendedOpenOption.DIRECT} (module {@code jdk.unsupported}),
 * looked up by name: javac warns on every direct use of that module, and a JDK or file system without it falls back.
 * Where it is not to be had (no such option, a file system that refuses it at open or at a write, a block size that
 * does not divide a chunk), the same chunks go through a plain {@link FileChannel} and the page cache instead,
 * forced in the background by a {@link BackgroundFlusher}: slower, the same bytes.
 *
 * <p>Memory: at most {@link #MAX_QUEUED} whole chunks wait for the disk (a writer that gets ahead of the disk
 * waits), plus the chunks still being filled, about one per formatting thread.
 */
final class DirectOutput implements AutoCloseable {
    /** Chunk buffers are aligned to this, and offsets and lengths of direct writes are multiples of it. */
    static final int ALIGNMENT = 4096;
    /** Bytes per chunk: one direct write each. */
    static final int CHUNK = 4 << 20;
    private static final int MAX_QUEUED = 8;
    /** {@code ExtendedOpenOption.DIRECT}, or null when this JDK has none. */
    private static final OpenOption DIRECT = directOption();

    private final Path path;
    private final int chunkSize;
    private final Arena arena = Arena.ofShared();
    private final Object lock = new Object();
    /** Chunks some bytes were put into, not yet whole; by chunk index. Guarded by lock. */
    private final Map<Long, Chunk> filling = new HashMap<>();
    /** Whole chunks waiting for the writer thread. Guarded by lock. */
    private final ArrayDeque<Chunk> whole = new ArrayDeque<>();
    /** Chunk buffers whose write is done, for reuse. Guarded by lock. */
    private final ArrayDeque<MemorySegment> spare = new ArrayDeque<>();
    /** Whole chunks not yet written: queued or being written. Guarded by lock. */
    private int unwritten;
    private boolean closing;
    private IOException failure;
    private final Thread writer;
    /** The file opened for direct I/O, or null. */
    private final FileChannel directChannel;
    /**
     * The file through the page cache: from the start, or from the first direct write refused. Only the writer
     * thread sets it, before the lock hands the chunk back, and {@link #finish} reads it after waiting on the lock.
     */
    private FileChannel buffered;
    private BackgroundFlusher flusher;

    private static final class Chunk {
        final long index;
        final MemorySegment data;
        int filled;

        Chunk(long index, MemorySegment data) {
            this.index = index;
            this.data = data;
        }
    }

    private static OpenOption directOption() {
        try {
            return (OpenOption) Class.forName("com.sun.nio.file.ExtendedOpenOption").getField("DIRECT").get(null);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    /**
     * Creates (or truncates) {@code path}, never through a symbolic link (the exporter's temporary sibling, created
     * exclusively just before); direct I/O when the system allows it.
     */
    static DirectOutput create(Path path) throws IOException {
        return new DirectOutput(path, CHUNK, true);
    }

    /**
     * {@code chunkSize} a multiple of {@link #ALIGNMENT} (tests use small ones so that every boundary case is
     * cheap); {@code direct} false always goes through the page cache.
     */
    DirectOutput(Path path, int chunkSize, boolean direct) throws IOException {
        if (chunkSize <= 0 || chunkSize % ALIGNMENT != 0) {
            throw new IllegalArgumentException("chunk size must be a positive multiple of " + ALIGNMENT + ": " + chunkSize);
        }
        this.path = path;
        this.chunkSize = chunkSize;
        this.directChannel = direct ? openDirect(path, chunkSize) : null;
        if (directChannel == null) {
            buffered = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
            flusher = new BackgroundFlusher(buffered);
        }
        this.writer = new Thread(this::writeChunks, "embstore-export-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** {@code path} created or truncated for direct I/O, or null when that is not to be had here. */
    private static FileChannel openDirect(Path path, int chunkSize) {
        if (DIRECT == null) {
            return null;
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS, DIRECT);
            // The JDK checks every direct write against the file store's block size: ALIGNMENT must be a multiple.
            long block = Files.getFileStore(path).getBlockSize();
            if (block > 0 && ALIGNMENT % block == 0) {
                return ch;
            }
            ch.close();
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // The page-cache channel opened next is the one that matters.
                }
            }
            // The plain open that follows reports a real problem (no such directory, no permission) on its own.
            return null;
        }
    }

    /** Whether writes go around the page cache (until a write is refused). */
    boolean direct() {
        return directChannel != null && buffered == null;
    }

    /**
     * Puts {@code bytes[0, length)} at {@code at}. Any thread; ranges put by different calls must not overlap. Waits
     * while too many whole chunks wait for the disk; throws the write failure, if one happened.
     */
    void put(long at, byte[] bytes, int length) {
        int done = 0;
        while (done < length) {
            long index = (at + done) / chunkSize;
            int within = (int) (at + done - index * chunkSize);
            int n = Math.min(length - done, chunkSize - within);
            Chunk chunk;
            synchronized (lock) {
                while (unwritten >= MAX_QUEUED && failure == null) {
                    await();
                }
                throwIfFailed();
                chunk = filling.get(index);
                if (chunk == null) {
                    chunk = new Chunk(index, spare.isEmpty() ? arena.allocate(chunkSize, ALIGNMENT) : spare.pop());
                    filling.put(index, chunk);
                }
            }
            // Outside the lock: threads fill different parts of a chunk at once. The count below, under the lock,
            // publishes the bytes to the writer thread, which takes the chunk only after the last count.
            MemorySegment.copy(bytes, done, chunk.data, ValueLayout.JAVA_BYTE, within, n);
            synchronized (lock) {
                chunk.filled += n;
                if (chunk.filled == chunkSize) {
                    filling.remove(index);
                    whole.add(chunk);
                    unwritten++;
                    lock.notifyAll();
                }
            }
            done += n;
        }
    }

    /**
     * Writes what is left, sets the file's length to {@code length} (every byte below it must have been put) and
     * forces the file to disk.
     */
    void finish(long length) throws IOException {
        Chunk last;
        synchronized (lock) {
            while (unwritten > 0 && failure == null) {
                await();
            }
            if (failure != null) {
                throw failure;
            }
            long lastIndex = length / chunkSize;
            int tail = (int) (length - lastIndex * chunkSize);
            last = filling.remove(lastIndex);
            if (!filling.isEmpty() || (tail == 0) != (last == null) || last != null && last.filled != tail) {
                throw new IllegalStateException("export output: bytes missing below " + length);
            }
        }
        // The writer thread is idle (nothing is queued) and no put is running: this thread writes the tail, a direct
        // one padded to a whole block.
        if (last != null) {
            int padded = (last.filled + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
            last.data.asSlice(last.filled, padded - last.filled).fill((byte) 0);
            writeChunk(last.data, buffered == null ? padded : last.filled, last.index * chunkSize);
        }
        FileChannel ch = buffered != null ? buffered : directChannel;
        if (flusher != null) {
            flusher.finish();
        }
        // The padding goes; then fsync makes the data, the length and the disk's cache durable (on either channel it
        // covers the whole file, chunks written directly before a switch to the page cache included).
        ch.truncate(length);
        ch.force(true);
    }

    @Override
    public void close() throws IOException {
        synchronized (lock) {
            closing = true;
            lock.notifyAll();
        }
        boolean interrupted = false;
        while (writer.isAlive()) {
            try {
                writer.join();
            } catch (InterruptedException e) {
                // A write in progress cannot be abandoned halfway: wait for it, then pass the interrupt on.
                interrupted = true;
            }
        }
        try {
            if (flusher != null) {
                flusher.close();
            }
            if (buffered != null) {
                buffered.close();
            }
            if (directChannel != null) {
                directChannel.close();
            }
        } finally {
            arena.close();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void writeChunks() {
        while (true) {
            Chunk chunk;
            boolean failed;
            synchronized (lock) {
                while (whole.isEmpty() && !closing) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (whole.isEmpty()) {
                    return;
                }
                chunk = whole.poll();
                failed = failure != null;
            }
            IOException error = null;
            try {
                if (!failed) {
                    writeChunk(chunk.data, chunkSize, chunk.index * chunkSize);
                }
            } catch (IOException e) {
                error = e;
            } catch (RuntimeException e) {
                error = new IOException(e.toString(), e);
            }
            synchronized (lock) {
                unwritten--;
                spare.push(chunk.data);
                if (error != null && failure == null) {
                    failure = error;
                }
                lock.notifyAll();
            }
        }
    }

    /** Writes {@code data[0, length)} at {@code at}: directly, or through the page cache once that was refused. */
    private void writeChunk(MemorySegment data, int length, long at) throws IOException {
        if (buffered == null) {
            try {
                writeFully(directChannel, data.asSlice(0, length).asByteBuffer(), at);
                return;
            } catch (IOException e) {
                // Refused as a direct write (EINVAL on some file systems): this and every later chunk go through the
                // page cache. A failure that is not about direct I/O (a full disk) fails there too, and is reported.
                buffered = FileChannel.open(path, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                flusher = new BackgroundFlusher(buffered);
            }
        }
        writeFully(buffered, data.asSlice(0, length).asByteBuffer(), at);
        flusher.written(length);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        while (buf.hasRemaining()) {
            at += ch.write(buf, at);
        }
    }

    private void await() {
        try {
            lock.wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing " + path, e);
        }
    }

    private void throwIfFailed() {
        if (failure != null) {
            throw new UncheckedIOException(failure.getMessage(), failure);
        }
    }
}
