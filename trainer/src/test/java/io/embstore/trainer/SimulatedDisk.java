package io.embstore.trainer;

import io.embstore.store.WritableStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A {@link Durability} that forces for real and also keeps, for one store directory, what a power cut would find on
 * the disk: each file's bytes as of its last force (a mapped force copies just the pages it covers) and the directory
 * entries as of the last directory fsync (renames are durable only then). Every force is recorded as an
 * {@link Event}, and {@link #beforeForce} sees it before it happens. {@link #image} captures the disk as it would be
 * after a power cut now; {@link Image#materialize} writes it out under a {@link Loss} policy: which written but unforced
 * pages reached the disk anyway.
 *
 * <p>The model starts from the files as they are when it is made (a store that was just closed: everything forced).
 * File sizes are taken to be durable with the data that needs them (as ext4 and XFS make them on fdatasync).
 */
final class SimulatedDisk implements Durability {
    static final int PAGE = 4096;

    enum Kind { FILE, MAPPED, ROWS, DIRECTORY }

    /** One force: of {@code file} (a name in the directory), bytes {@code [offset, offset + length)} for mapped ones. */
    record Event(Kind kind, String file, long offset, long length) {
    }

    private final Path dir;
    /** The bytes of each file (by inode) as of its last force. Arrays are never changed: a force replaces them. */
    private final Map<Object, byte[]> durable = new HashMap<>();
    /** The directory entries as of its last fsync: name to inode. */
    private Map<String, Object> durableNames;
    final List<Event> events = new ArrayList<>();
    Consumer<Event> beforeForce = e -> { };

    SimulatedDisk(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
        this.durableNames = listing();
        for (var e : durableNames.entrySet()) {
            durable.put(e.getValue(), read(this.dir.resolve(e.getKey())));
        }
    }

    // ------------------------------------------------------------------------------------------------ Durability

    @Override
    public void force(Path file, FileChannel channel, boolean metaData) throws IOException {
        record(new Event(Kind.FILE, name(file), 0, channel.size()));
        SYSTEM.force(file, channel, metaData);
        durable.put(inode(file), read(file));
    }

    @Override
    public void force(Path file, MemorySegment mapping, long offset, long length) {
        record(new Event(Kind.MAPPED, name(file), offset, length));
        SYSTEM.force(file, mapping, offset, length);
        forced(file, offset, length);
    }

    @Override
    public void forceRows(WritableStore store, long fromRow, long toRow) {
        Path file = store.path().resolve("matrix.npy");
        long rowBytes = (long) store.dim() * store.dtype().bytes();
        long offset = matrixHeaderBytes(file) + fromRow * rowBytes;
        record(new Event(Kind.ROWS, name(file), offset, (toRow - fromRow) * rowBytes));
        SYSTEM.forceRows(store, fromRow, toRow);
        forced(file, offset, (toRow - fromRow) * rowBytes);
    }

    @Override
    public void forceDirectory(Path d) throws IOException {
        boolean ours = d.toAbsolutePath().normalize().equals(dir);
        record(new Event(Kind.DIRECTORY, ours ? "." : d.toString(), 0, 0));
        SYSTEM.forceDirectory(d);
        if (ours) {
            durableNames = listing();
        }
    }

    private void record(Event e) {
        beforeForce.accept(e);
        events.add(e);
    }

    /** The pages holding {@code [offset, offset + length)} of {@code file} now hold what the file holds. */
    private void forced(Path file, long offset, long length) {
        byte[] now = read(file);
        Object key = inode(file);
        byte[] before = durable.getOrDefault(key, new byte[0]);
        byte[] after = Arrays.copyOf(before, Math.max(before.length, now.length));
        int from = (int) (offset / PAGE * PAGE);
        int to = (int) Math.min(now.length, (offset + length + PAGE - 1) / PAGE * PAGE);
        System.arraycopy(now, from, after, from, Math.max(0, to - from));
        durable.put(key, after);
    }

    /** The offset of row 0 in a {@code .npy} file: its 10 fixed bytes and the header length they give. */
    static long matrixHeaderBytes(Path npy) {
        try (FileChannel ch = FileChannel.open(npy)) {
            ByteBuffer b = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, 0);
            return 10 + (b.getShort(8) & 0xffff);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------ images

    /** Which pages written after their file's last force reached the disk before the power went. */
    enum Loss {
        /** None: only what was forced survives (and only the renames a directory fsync made durable). */
        EVERYTHING_UNFORCED,
        /**
         * Every page of the mapped arrays ({@code .npy}: matrix and optimizer state) reached the disk, nothing else
         * did: the order a missing force before the rows change cannot survive.
         */
        ALL_BUT_MAPPED_PAGES,
        /** Each page of each file, the directory entries and each file's size, by a coin seeded per image. */
        RANDOM_PAGES
    }

    /** A file as a power cut could find it: its bytes as of its last force, and as they are (null if not current). */
    record FileState(byte[] forced, byte[] now) {
    }

    /**
     * The disk at one moment: the directory as of its last fsync and as it is, each name with its file's states.
     *
     * @param label what the trainer was doing
     */
    record Image(String label, Map<String, FileState> durableListing, Map<String, FileState> currentListing) {
        /** Writes the files a power cut would leave under {@code loss} into the new directory {@code to}. */
        void materialize(Path to, Loss loss, long seed) throws IOException {
            SplittableRandom coin = new SplittableRandom(seed);
            Map<String, FileState> names = loss == Loss.RANDOM_PAGES && coin.nextBoolean() ? currentListing : durableListing;
            Files.createDirectory(to);
            for (var e : names.entrySet()) {
                FileState f = e.getValue();
                byte[] forced = f.forced() == null ? new byte[0] : f.forced();
                byte[] now = f.now() == null ? forced : f.now();
                byte[] out = switch (loss) {
                    case EVERYTHING_UNFORCED -> forced;
                    case ALL_BUT_MAPPED_PAGES -> e.getKey().endsWith(".npy") ? now : forced;
                    case RANDOM_PAGES -> mix(forced, now, coin);
                };
                Files.write(to.resolve(e.getKey()), out);
            }
        }

        private static byte[] mix(byte[] forced, byte[] now, SplittableRandom coin) {
            byte[] out = new byte[coin.nextBoolean() ? now.length : forced.length];
            for (int from = 0; from < out.length; from += PAGE) {
                byte[] src = coin.nextBoolean() ? now : forced;
                int to = Math.min(out.length, Math.min(src.length, from + PAGE));
                if (to > from) {
                    System.arraycopy(src, from, out, from, to - from);
                }
            }
            return out;
        }
    }

    /** What a power cut now would leave: see {@link Image#materialize}. */
    Image image(String label) {
        Map<String, Object> current = listing();
        Map<String, FileState> durableListing = new TreeMap<>();
        Map<String, byte[]> nowBytes = new HashMap<>();
        for (var e : current.entrySet()) {
            nowBytes.put(e.getKey(), read(dir.resolve(e.getKey())));
        }
        for (var e : durableNames.entrySet()) {
            boolean same = e.getValue().equals(current.get(e.getKey()));
            durableListing.put(e.getKey(), new FileState(durable.get(e.getValue()), same ? nowBytes.get(e.getKey()) : null));
        }
        Map<String, FileState> currentListing = new TreeMap<>();
        for (var e : current.entrySet()) {
            currentListing.put(e.getKey(), new FileState(durable.get(e.getValue()), nowBytes.get(e.getKey())));
        }
        return new Image(label, durableListing, currentListing);
    }

    // ------------------------------------------------------------------------------------------------ files

    private Map<String, Object> listing() {
        Map<String, Object> names = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    names.put(p.getFileName().toString(), inode(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    private String name(Path file) {
        if (!file.toAbsolutePath().normalize().getParent().equals(dir)) {
            throw new AssertionError(file + " is outside the store directory " + dir);
        }
        return file.getFileName().toString();
    }

    private static Object inode(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file's bytes as the page cache holds them (a shared mapping's writes included). */
    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
