package io.embstore.trainer;

import io.embstore.store.io.DurableFiles;
import io.embstore.store.io.FileSpace;
import io.embstore.store.io.MappingAdvice;
import io.embstore.store.io.NpyHeader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;


/**
 * The optimizer's per-row state, in mapped files in the store directory, and {@code optim.meta}, which says which
 * optimizer they belong to. Nothing here grows with the table on the heap.
 *
 * <pre>
 *  optim.meta        text, written last at creation (DurableFiles.replace): its presence commits the state
 *                    embstore-optimizer / format_version=1 / algorithm=adam|rowwise_adagrad|sgd / dim=D
 *  optim.m.npy       &lt;f4 (R, D)  Adam's first moment                       [adam]
 *  optim.v.npy       &lt;f4 (R, D)  Adam's second moment                      [adam]
 *  optim.acc.npy     &lt;f4 (R,)    row-wise Adagrad's accumulator            [rowwise_adagrad]
 *  optim.rows.npy    &lt;i8 (R, 2)  per row: updates applied, last step that updated it   [all]
 * </pre>
 *
 * Every {@code .npy} file has the store's 4096-byte {@link NpyHeader}, as {@code matrix.npy} has, so that row 0 is
 * page-aligned and {@code numpy.load(f, mmap_mode="r")} maps the very pages the trainer uses; {@code R} is the state's
 * capacity in rows
 * (at least the store's rows; the files grow with the store and are never truncated).
 */
final class OptimizerState implements AutoCloseable {
    static final String META_FILE = "optim.meta";
    static final String M_FILE = "optim.m.npy";
    static final String V_FILE = "optim.v.npy";
    static final String ACC_FILE = "optim.acc.npy";
    static final String ROWS_FILE = "optim.rows.npy";
    static final int FORMAT_VERSION = 1;
    /** Bytes per row of optim.rows.npy: update count, last step. */
    static final int COUNTER_BYTES = 16;

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path dir;
    private final Durability durability;
    final SparseTrainer.Algorithm algorithm;
    final int dim;
    private final Arena arena = Arena.ofShared();
    /**
     * Advice for the state files (shared with the store: one madvise call site, one log line per state directory if
     * the kernel refuses it).
     */
    private final MappingAdvice advice;
    long capacity;
    MemorySegment m;
    MemorySegment v;
    MemorySegment acc;
    MemorySegment counters;

    private OptimizerState(Path dir, SparseTrainer.Algorithm algorithm, int dim, Durability durability) {
        this.advice = new MappingAdvice(dir);
        this.dir = dir;
        this.durability = durability;
        this.algorithm = algorithm;
        this.dim = dim;
    }

    /** Floats of optimizer state per row besides the counters (what an undo record carries). */
    static int stateFloats(SparseTrainer.Algorithm algorithm, int dim) {
        return switch (algorithm) {
            case ADAM -> 2 * dim;
            case ROWWISE_ADAGRAD -> 1;
            case SGD -> 0;
        };
    }

    int stateFloats() {
        return stateFloats(algorithm, dim);
    }

    /** One state array: its NumPy dtype, its columns (0: one dimension) and the bytes of one row. */
    record FileSpec(String descr, int cols, long rowBytes) {
    }

    /** A mapped state array, its file and the bytes of one of its rows. */
    record Array(Path file, MemorySegment segment, long rowBytes) {
    }

    /** The files of {@code algorithm}, in a fixed order. */
    private static Map<String, FileSpec> files(SparseTrainer.Algorithm algorithm, int dim) {
        Map<String, FileSpec> f = new LinkedHashMap<>();
        if (algorithm == SparseTrainer.Algorithm.ADAM) {
            f.put(M_FILE, new FileSpec("<f4", dim, 4L * dim));
            f.put(V_FILE, new FileSpec("<f4", dim, 4L * dim));
        } else if (algorithm == SparseTrainer.Algorithm.ROWWISE_ADAGRAD) {
            f.put(ACC_FILE, new FileSpec("<f4", 0, 4L));
        }
        f.put(ROWS_FILE, new FileSpec("<i8", 2, COUNTER_BYTES));
        return f;
    }

    static boolean exists(Path dir) {
        return Files.exists(dir.resolve(META_FILE));
    }

    /**
     * Creates the state for {@code capacity} rows: the files are built under their final names (sparse, zero), forced,
     * the undo log and the epoch-0 checkpoint record are written, and {@code optim.meta} is renamed into place last.
     * A crash before that rename leaves no meta, and the next attach builds everything again.
     */
    static void create(Path dir, SparseTrainer.Algorithm algorithm, int dim, long capacity, long generation, long rows,
                       Durability durability) {
        // The two .tmp names are the fixed temporaries trainers used before DurableFiles: a crash may have left them.
        List<String> names = List.of(M_FILE, V_FILE, ACC_FILE, ROWS_FILE, UndoLog.FILE, CheckpointRecord.FILE,
                CheckpointRecord.FILE + ".tmp", META_FILE + ".tmp");
        try {
            createFiles(dir, algorithm, dim, capacity, generation, rows, names, durability);
        } catch (RuntimeException | Error e) {
            // A full disk, most likely: the half-built state goes, so that its space is free again (the next attach
            // would delete it anyway, before building it again).
            for (String name : names) {
                try {
                    Files.deleteIfExists(dir.resolve(name));
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static void createFiles(Path dir, SparseTrainer.Algorithm algorithm, int dim, long capacity, long generation,
                                    long rows, List<String> names, Durability durability) {
        try {
            for (String name : names) {
                Files.deleteIfExists(dir.resolve(name));
            }
            try (Arena a = Arena.ofConfined()) {
                for (var e : files(algorithm, dim).entrySet()) {
                    FileSpec spec = e.getValue();
                    Path file = dir.resolve(e.getKey());
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                        long bytes = NpyHeader.fileBytes(capacity, spec.rowBytes());
                        // Blocks first: the steps write the state through the mapping, where a full disk faults.
                        FileSpace.reserve(file, 0, bytes);
                        MemorySegment seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, a);
                        NpyHeader.write(seg, spec.descr(), capacity, spec.cols());
                        durability.force(file, seg, 0, seg.byteSize());
                    }
                }
            }
            UndoLog.create(dir.resolve(UndoLog.FILE), dim, stateFloats(algorithm, dim), durability);
            new CheckpointRecord(0, 0, generation, rows, generation, List.of()).writeAtomically(dir, durability);
            String text = "embstore-optimizer\nformat_version=" + FORMAT_VERSION + "\nalgorithm=" + algorithm.label
                    + "\ndim=" + dim + "\n";
            DurableFiles.replace(dir.resolve(META_FILE), text.getBytes(StandardCharsets.UTF_8), durability);
        } catch (IOException e) {
            throw StateErrors.io(dir, "cannot create the optimizer state", e);
        }
    }

    /** Reads {@code optim.meta}, checks it matches, and maps every state file after checking its header and size. */
    static OptimizerState open(Path dir, SparseTrainer.Algorithm algorithm, int dim, boolean writable, Durability durability) {
        Path metaFile = dir.resolve(META_FILE);
        Map<String, String> meta = new LinkedHashMap<>();
        try {
            List<String> lines = Files.readAllLines(metaFile, StandardCharsets.UTF_8);
            if (lines.isEmpty() || !lines.getFirst().equals("embstore-optimizer")) {
                throw StateErrors.corrupt(metaFile, "not an embstore optimizer meta file (first line must be"
                        + " 'embstore-optimizer')");
            }
            for (String line : lines.subList(1, lines.size())) {
                int eq = line.indexOf('=');
                if (eq <= 0) {
                    throw StateErrors.corrupt(metaFile, "malformed line '" + line + "'");
                }
                meta.put(line.substring(0, eq), line.substring(eq + 1));
            }
        } catch (NoSuchFileException e) {
            throw StateErrors.corrupt(metaFile, "missing", e);
        } catch (CharacterCodingException e) {
            // The file is ASCII when written: other bytes are damage, reported as every damaged state file is.
            throw StateErrors.corrupt(metaFile, "damaged: not UTF-8 text (delete the optim.* files to start a"
                    + " new optimizer)", e);
        } catch (IOException e) {
            throw StateErrors.io(metaFile, "cannot read", e);
        }
        if (!String.valueOf(FORMAT_VERSION).equals(meta.get("format_version"))) {
            throw StateErrors.corrupt(metaFile, "format_version " + meta.get("format_version") + ", this trainer reads "
                    + FORMAT_VERSION);
        }
        if (!algorithm.label.equals(meta.get("algorithm"))) {
            throw StateErrors.corrupt(metaFile, "the state belongs to algorithm=" + meta.get("algorithm")
                    + ", not " + algorithm.label + " (delete the optim.* files to start a new optimizer)");
        }
        if (!String.valueOf(dim).equals(meta.get("dim"))) {
            throw StateErrors.corrupt(metaFile, "dim=" + meta.get("dim") + " but the store's dim is " + dim);
        }
        OptimizerState s = new OptimizerState(dir, algorithm, dim, durability);
        try {
            long capacity = Long.MAX_VALUE;
            for (var e : files(algorithm, dim).entrySet()) {
                Path file = dir.resolve(e.getKey());
                FileSpec spec = e.getValue();
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    long size = ch.size();
                    MemorySegment head = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, NpyHeader.BYTES), s.arena);
                    long rows = headerRows(head, file, spec);
                    long need = NpyHeader.fileBytes(rows, spec.rowBytes());
                    if (size < need) {
                        throw StateErrors.corrupt(file, "truncated: " + size + " bytes, its header says " + rows
                                + " rows, which need " + need);
                    }
                    capacity = Math.min(capacity, rows);
                } catch (NoSuchFileException ex) {
                    throw StateErrors.corrupt(file, "missing: optim.meta says algorithm=" + algorithm.label, ex);
                }
            }
            s.mapAll(capacity, writable);
            return s;
        } catch (IOException e) {
            s.close();
            throw StateErrors.io(dir, "cannot map the optimizer state", e);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The rows {@code file}'s header gives, after checking it says what the trainer writes there: {@code spec}. */
    private static long headerRows(MemorySegment head, Path file, FileSpec spec) {
        NpyHeader.Parsed h = NpyHeader.read(head, file);
        if (!h.descr().equals(spec.descr()) || h.fortranOrder()) {
            throw StateErrors.corrupt(file, "dtype " + h.descr() + ", fortran_order "
                    + (h.fortranOrder() ? "True" : "False") + "; the trainer writes " + spec.descr() + " in C order");
        }
        if (h.cols() != spec.cols()) {
            throw StateErrors.corrupt(file, "shape has " + (h.cols() == 0 ? "one dimension" : h.cols() + " columns")
                    + ", expected " + (spec.cols() == 0 ? "one dimension" : spec.cols() + " columns"));
        }
        return h.rows();
    }

    private void mapAll(long newCapacity, boolean writable) throws IOException {
        for (var e : files(algorithm, dim).entrySet()) {
            Path file = dir.resolve(e.getKey());
            long bytes = NpyHeader.fileBytes(newCapacity, e.getValue().rowBytes());
            if (writable && capacity > 0 && newCapacity > capacity) {
                // The new rows' blocks before the mapping: a step's write into a sparse region of a full disk faults.
                FileSpace.reserve(file, NpyHeader.fileBytes(capacity, e.getValue().rowBytes()), bytes);
            }
            try (FileChannel ch = writable ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(file, StandardOpenOption.READ)) {
                // Mapping past the end of the file extends it (sparse): growth only, a mapped file is never truncated.
                MemorySegment seg = ch.map(writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY, 0,
                        bytes, arena);
                // A step touches rows scattered over the table: without MADV_RANDOM a fault reads ahead (and zero-fills,
                // in these sparse files) pages around the one touched, which the next rows do not need; measured, a
                // fifth of a step's time on a 1M-row table went to zeroing read-ahead pages.
                advice.random(seg, file);
                switch (e.getKey()) {
                    case M_FILE -> m = seg;
                    case V_FILE -> v = seg;
                    case ACC_FILE -> acc = seg;
                    default -> counters = seg;
                }
            }
        }
        capacity = newCapacity;
    }

    /**
     * Grows every file to hold {@code rows}, by half again at least. The old mappings stay valid (same arena) until
     * close. Each file is extended before its header says so, so a crash between the two leaves a valid file.
     */
    void ensureCapacity(long rows) {
        if (rows <= capacity) {
            return;
        }
        long newCapacity = Math.max(rows, capacity + capacity / 2);
        try {
            mapAll(newCapacity, true);
        } catch (IOException e) {
            throw StateErrors.io(dir, "cannot grow the optimizer state to " + newCapacity + " rows", e);
        }
        for (var e : files(algorithm, dim).entrySet()) {
            MemorySegment seg = segment(e.getKey());
            NpyHeader.write(seg, e.getValue().descr(), newCapacity, e.getValue().cols());
            durability.force(dir.resolve(e.getKey()), seg, 0, NpyHeader.BYTES);
        }
    }

    private MemorySegment segment(String name) {
        return switch (name) {
            case M_FILE -> m;
            case V_FILE -> v;
            case ACC_FILE -> acc;
            default -> counters;
        };
    }

    static long rowAt(long row, long rowBytes) {
        return NpyHeader.BYTES + row * rowBytes;
    }

    long updateCount(long row) {
        return counters.get(I64, rowAt(row, COUNTER_BYTES));
    }

    long lastStep(long row) {
        return counters.get(I64, rowAt(row, COUNTER_BYTES) + 8);
    }

    void counters(long row, long count, long lastStep) {
        long at = rowAt(row, COUNTER_BYTES);
        counters.set(I64, at, count);
        counters.set(I64, at + 8, lastStep);
    }

    /**
     * Asks for row {@code row}'s pages of every state file ({@code MADV_WILLNEED}): their reads start now, together,
     * instead of one fault at a time when the step reads them ({@link StepAhead}).
     */
    void willNeed(long row) {
        switch (algorithm) {
            case ADAM -> {
                long bytes = 4L * dim;
                advice.willNeed(m, rowAt(row, bytes), bytes, dir.resolve(M_FILE));
                advice.willNeed(v, rowAt(row, bytes), bytes, dir.resolve(V_FILE));
            }
            case ROWWISE_ADAGRAD -> advice.willNeed(acc, rowAt(row, 4), 4, dir.resolve(ACC_FILE));
            case SGD -> {
            }
        }
        advice.willNeed(counters, rowAt(row, COUNTER_BYTES), COUNTER_BYTES, dir.resolve(ROWS_FILE));
    }

    /** Copies row {@code row}'s state floats (m then v, or acc) into {@code dst} at byte {@code at}, little-endian. */
    void saveFloats(long row, MemorySegment dst, long at) {
        switch (algorithm) {
            case ADAM -> {
                long bytes = 4L * dim;
                MemorySegment.copy(m, rowAt(row, bytes), dst, at, bytes);
                MemorySegment.copy(v, rowAt(row, bytes), dst, at + bytes, bytes);
            }
            case ROWWISE_ADAGRAD -> MemorySegment.copy(acc, rowAt(row, 4), dst, at, 4);
            case SGD -> {
            }
        }
    }

    /** The inverse of {@link #saveFloats}. */
    void restoreFloats(long row, MemorySegment src, long at) {
        switch (algorithm) {
            case ADAM -> {
                long bytes = 4L * dim;
                MemorySegment.copy(src, at, m, rowAt(row, bytes), bytes);
                MemorySegment.copy(src, at + bytes, v, rowAt(row, bytes), bytes);
            }
            case ROWWISE_ADAGRAD -> MemorySegment.copy(src, at, acc, rowAt(row, 4), 4);
            case SGD -> {
            }
        }
    }

    /** The mapped state arrays, for forcing a checkpoint's rows. */
    List<Array> arrays() {
        return switch (algorithm) {
            case ADAM -> List.of(new Array(dir.resolve(M_FILE), m, 4L * dim), new Array(dir.resolve(V_FILE), v, 4L * dim),
                    new Array(dir.resolve(ROWS_FILE), counters, COUNTER_BYTES));
            case ROWWISE_ADAGRAD -> List.of(new Array(dir.resolve(ACC_FILE), acc, 4L),
                    new Array(dir.resolve(ROWS_FILE), counters, COUNTER_BYTES));
            case SGD -> List.of(new Array(dir.resolve(ROWS_FILE), counters, COUNTER_BYTES));
        };
    }

    /** Feeds rows {@code [0, rows)} of every state file into {@code crc} (tests compare states with it). */
    void checksum(CRC32C crc, long rows) {
        for (Array a : arrays()) {
            crc.update(a.segment().asSlice(NpyHeader.BYTES, rows * a.rowBytes()).asByteBuffer());
        }
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
