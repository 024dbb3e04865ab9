package io.embstore.tools;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The file a plain export writes: bytes put at any offset by any thread are gathered into aligned chunks, and each
 * chunk, once whole, is written by one background thread with direct I/O ({@code O_DIRECT}, around the page cache).
 *
 * <p>Why direct I/O: writing a gigabyte through the page cache costs the writing process a kernel copy of every
 * byte into freshly allocated cache pages, then writeback. Measured on the 2-core VM this project is benchmarked
 * on, that was 1.2 to 2.7 s of system CPU per 1 GB export ({@code copy_folio_from_iter_atomic} alone a third of
 * the process's samples: first touches of guest pages the host had not backed), CPU the formatting threads needed.
 * A direct write is a DMA from the chunk: about 0.01 s of CPU per GB, and the disk works while the formatting goes
 * on. The file is still forced ({@code fsync}) before {@link #finish} returns, for its length and the disk's cache.
 *
 * <p>Where direct I/O is not to be had (not Linux on x86-64 or AArch64, native access denied, a file system that
 * refuses {@code O_DIRECT} at open or at a write), the same chunks go through a {@link FileChannel} and the page
 * cache instead, forced in the background by a {@link BackgroundFlusher}: slower, the same bytes.
 *
 * <p>Memory: at most {@link #MAX_QUEUED} whole chunks wait for the disk (a writer that gets ahead of the disk
 * waits), plus the chunks still being filled, about one per formatting thread.
 */
final class DirectOutput implements AutoCloseable {
    /** Offsets, lengths and buffer addresses of direct writes are multiples of this (any device's block size). */
    static final int ALIGNMENT = 4096;
    /** Bytes per chunk: one direct write each. */
    static final int CHUNK = 4 << 20;
    private static final int MAX_QUEUED = 8;

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
    /** The direct file descriptor, or -1 when the file is written through {@link #buffered}. */
    private final int fd;
    /** Set once a write goes through the page cache; only the writer thread touches it until {@link #finish}. */
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

    /** Creates (or truncates) {@code path}; direct I/O when the system allows it. */
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
        int opened = direct ? NativeFile.openDirect(path) : -1;
        if (opened < 0) {
            buffered = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            flusher = new BackgroundFlusher(buffered);
        }
        this.fd = opened;
        this.writer = new Thread(this::writeChunks, "embstore-export-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** Whether writes go around the page cache (until a write is refused). */
    boolean direct() {
        return fd >= 0 && buffered == null;
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
        // The writer thread is idle (nothing is queued) and no put is running: this thread writes the tail.
        if (last != null) {
            int padded = (last.filled + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
            last.data.asSlice(last.filled, padded - last.filled).fill((byte) 0);
            writeChunk(last.data, buffered == null ? padded : last.filled, last.index * chunkSize);
        }
        if (buffered != null) {
            flusher.finish();
            // A tail refused as a direct write went through the page cache padded: the padding goes. fsync covers
            // the chunks written directly before the switch too.
            buffered.truncate(length);
            buffered.force(true);
        } else {
            // The padding of the direct tail goes; then the length, the data's extents and the disk's cache are made
            // durable.
            NativeFile.truncate(fd, length);
            NativeFile.fsync(fd);
        }
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
                // A native write cannot be abandoned halfway: wait for it, then pass the interrupt on.
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
            if (fd >= 0) {
                NativeFile.close(fd);
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
            if (NativeFile.pwriteDirect(fd, data, length, at)) {
                return;
            }
            // The file system refused a direct write (EINVAL): this and every later chunk go through the page cache.
            buffered = FileChannel.open(path, StandardOpenOption.WRITE);
            flusher = new BackgroundFlusher(buffered);
        }
        ByteBuffer buf = data.asSlice(0, length).asByteBuffer();
        long position = at;
        while (buf.hasRemaining()) {
            position += buffered.write(buf, position);
        }
        flusher.written(length);
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

    /** open, pwrite, ftruncate, fsync and close from the C library, with errno. */
    private static final class NativeFile {
        private static final int O_WRONLY = 1;
        private static final int O_CREAT = 0x40;
        private static final int O_TRUNC = 0x200;
        private static final int O_CLOEXEC = 0x80000;
        private static final int EINTR = 4;
        private static final int EINVAL = 22;
        /** O_DIRECT differs between architectures; 0 where this class does not know it. */
        private static final int O_DIRECT = switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> 0x4000;
            case "aarch64" -> 0x10000;
            default -> 0;
        };
        private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO =
                CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        private static final MethodHandle OPEN;
        private static final MethodHandle PWRITE;
        private static final MethodHandle FTRUNCATE;
        private static final MethodHandle FSYNC;
        private static final MethodHandle CLOSE;
        private static final MethodHandle STRERROR;

        static {
            MethodHandle open = null;
            MethodHandle pwrite = null;
            MethodHandle ftruncate = null;
            MethodHandle fsync = null;
            MethodHandle close = null;
            MethodHandle strerror = null;
            if (O_DIRECT != 0 && System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                try {
                    Linker linker = Linker.nativeLinker();
                    Linker.Option errno = Linker.Option.captureCallState("errno");
                    open = handle(linker, "open", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno, Linker.Option.firstVariadicArg(2));
                    pwrite = handle(linker, "pwrite", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), errno);
                    ftruncate = handle(linker, "ftruncate",
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), errno);
                    fsync = handle(linker, "fsync", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
                    close = handle(linker, "close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                    strerror = handle(linker, "strerror", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                } catch (RuntimeException e) {
                    System.getLogger(DirectOutput.class.getName()).log(System.Logger.Level.INFO,
                            "direct I/O unavailable (" + e + "): the export writes through the page cache;"
                                    + " run with --enable-native-access=ALL-UNNAMED to allow it");
                    open = null;
                }
            }
            OPEN = open;
            PWRITE = pwrite;
            FTRUNCATE = ftruncate;
            FSYNC = fsync;
            CLOSE = close;
            STRERROR = strerror;
        }

        private NativeFile() {
        }

        private static MethodHandle handle(Linker linker, String name, FunctionDescriptor fd, Linker.Option... options) {
            MemorySegment f = linker.defaultLookup().find(name)
                    .orElseThrow(() -> new UnsupportedOperationException(name + " not found"));
            return linker.downcallHandle(f, fd, options);
        }

        /** A descriptor of {@code path} created or truncated for direct writing, or -1 when that is not to be had. */
        static int openDirect(Path path) throws IOException {
            if (OPEN == null) {
                return -1;
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment state = call.allocate(CALL_STATE);
                MemorySegment name = call.allocateFrom(path.toString());
                int fd;
                do {
                    fd = (int) OPEN.invokeExact(state, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0666);
                } while (fd < 0 && errno(state) == EINTR);
                if (fd >= 0) {
                    return fd;
                }
                if (errno(state) == EINVAL) {
                    return -1;
                }
                throw new IOException(message(errno(state)));
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        /**
         * Writes {@code data[0, length)} at {@code at}; false, with nothing to undo, when the file system refuses the
         * direct write (EINVAL: the chunk is then written again through the page cache).
         */
        static boolean pwriteDirect(int fd, MemorySegment data, long length, long at) throws IOException {
            try (Arena call = Arena.ofConfined()) {
                MemorySegment state = call.allocate(CALL_STATE);
                long done = 0;
                while (done < length) {
                    long n = (long) PWRITE.invokeExact(state, fd, data.asSlice(done), length - done, at + done);
                    if (n > 0) {
                        done += n;
                    } else if (n == 0) {
                        throw new IOException("a write wrote nothing at offset " + (at + done));
                    } else if (errno(state) == EINVAL) {
                        return false;
                    } else if (errno(state) != EINTR) {
                        throw new IOException(message(errno(state)));
                    }
                }
                return true;
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        static void truncate(int fd, long length) throws IOException {
            call(FTRUNCATE, fd, length);
        }

        static void fsync(int fd) throws IOException {
            call(FSYNC, fd, -1);
        }

        static void close(int fd) {
            try {
                int rc = (int) CLOSE.invokeExact(fd);
                assert rc == 0 || rc == -1;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        private static void call(MethodHandle h, int fd, long length) throws IOException {
            try (Arena call = Arena.ofConfined()) {
                MemorySegment state = call.allocate(CALL_STATE);
                int rc;
                do {
                    rc = length >= 0 ? (int) h.invokeExact(state, fd, length) : (int) h.invokeExact(state, fd);
                } while (rc != 0 && errno(state) == EINTR);
                if (rc != 0) {
                    throw new IOException(message(errno(state)));
                }
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        private static int errno(MemorySegment state) {
            return (int) ERRNO.get(state, 0L);
        }

        private static String message(int errno) throws Throwable {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        }
    }
}
