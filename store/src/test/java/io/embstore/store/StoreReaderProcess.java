package io.embstore.store;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Child JVM of {@link MultiProcessConsistencyTest}: one of the readers. For the given time it reads random rows with
 * {@link EmbeddingStore#read(long, float[])} and {@link EmbeddingStore#gather(int[], float[])}, counts rows whose values
 * are not all equal (torn: half of one write and half of another), records the generations it sees, refreshes now and
 * then and checks every newly visible appended row (its word, its lookup and its values), and reopens the store now and
 * then while the writer works. It prints one line:
 *
 * <pre>reads=N torn=T generations=G maxGeneration=M rowsSeen=R appendedChecked=A reopens=O errors=E</pre>
 *
 * and details of any failure on standard error; it exits with status 1 on an error.
 *
 * <p>Arguments: store directory, seed, duration in milliseconds, initial row count, minimum reads. The reader runs for
 * the duration and then on until it has done the minimum reads, seen the generation move, seen an appended row and
 * reopened once, up to ten times the duration: on a loaded machine a reader may get little of its duration, and what
 * the parent checks must not depend on how fast the machine is.
 */
final class StoreReaderProcess {
    private StoreReaderProcess() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        long durationNanos = Long.parseLong(args[2]) * 1_000_000L;
        long initialRows = Long.parseLong(args[3]);
        long minReads = Long.parseLong(args[4]);
        SplittableRandom random = new SplittableRandom(seed);

        long reads = 0;
        long torn = 0;
        long appendedChecked = 0;
        long reopens = 0;
        long errors = 0;
        long rowsSeen = 0;
        Set<Long> generations = new HashSet<>();
        try (EmbeddingStore store = EmbeddingStore.open(dir)) {
            int dim = store.dim();
            float[] row = new float[dim];
            int[] ids = new int[16];
            float[] batch = new float[ids.length * dim];
            long checkedUpTo = initialRows;
            rowsSeen = store.rows();
            for (long r = checkedUpTo; r < rowsSeen; r++) {
                checkAppended(store, r, initialRows, row);
                appendedChecked++;
            }
            checkedUpTo = rowsSeen;
            long started = System.nanoTime();
            long deadline = started + durationNanos;
            long hardDeadline = started + 10 * durationNanos;
            long nextReopen = started + durationNanos / 4;
            for (long iteration = 0; ; iteration++) {
                long now = System.nanoTime();
                boolean enough = reads >= minReads && generations.size() > 1 && rowsSeen > initialRows && reopens > 0;
                if (now >= hardDeadline || (now >= deadline && enough)) {
                    break;
                }
                long rows = store.rows();
                store.read(random.nextLong(rows), row);
                reads++;
                if (!StoreWriterProcess.isWhole(row, 0, dim, store.dtype())) {
                    torn++;
                    report("torn row read", row, 0, dim);
                }
                if (iteration % 8 == 0) {
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = (int) random.nextLong(rows);
                    }
                    store.gather(ids, batch);
                    for (int i = 0; i < ids.length; i++) {
                        reads++;
                        if (!StoreWriterProcess.isWhole(batch, i * dim, dim, store.dtype())) {
                            torn++;
                            report("torn row " + ids[i] + " in gather", batch, i * dim, dim);
                        }
                    }
                }
                if (iteration % 256 == 0) {
                    generations.add(store.generation());
                }
                if (iteration % 2048 == 0 && store.refresh()) {
                    if (store.rows() < rowsSeen) {
                        throw new AssertionError("rows went backwards: " + rowsSeen + " -> " + store.rows());
                    }
                    rowsSeen = store.rows();
                    for (long r = checkedUpTo; r < rowsSeen; r++) {
                        checkAppended(store, r, initialRows, row);
                        appendedChecked++;
                    }
                    checkedUpTo = rowsSeen;
                }
                if (System.nanoTime() > nextReopen) {
                    // A second reader opening while the writer appends, grows and flushes must see a sane store.
                    try (EmbeddingStore again = EmbeddingStore.open(dir)) {
                        if (again.rows() < initialRows) {
                            throw new AssertionError("reopened store has " + again.rows() + " rows, fewer than " + initialRows);
                        }
                        long last = again.rows() - 1;
                        again.read(last, row);
                        if (!StoreWriterProcess.isWhole(row, 0, dim, store.dtype())) {
                            torn++;
                            report("torn last row " + last + " after reopening", row, 0, dim);
                        }
                    }
                    reopens++;
                    nextReopen = System.nanoTime() + durationNanos / 4;
                }
            }
            generations.add(store.generation());
            // One last refresh so that appends late in the run are checked as well.
            if (store.refresh()) {
                rowsSeen = store.rows();
                for (long r = checkedUpTo; r < rowsSeen; r++) {
                    checkAppended(store, r, initialRows, row);
                    appendedChecked++;
                }
            }
        } catch (Throwable t) {
            errors++;
            System.err.println("reader failed after " + reads + " reads:");
            t.printStackTrace();
        }
        System.out.println("reads=" + reads + " torn=" + torn + " generations=" + generations.size()
                + " maxGeneration=" + generations.stream().mapToLong(Long::longValue).max().orElse(0) + " rowsSeen="
                + rowsSeen + " appendedChecked=" + appendedChecked + " reopens=" + reopens + " errors=" + errors);
        System.out.flush();
        System.exit(errors == 0 ? 0 : 1);
    }

    private static void checkAppended(EmbeddingStore store, long row, long initialRows, float[] buf) {
        String expected = StoreWriterProcess.APPENDED_PREFIX + (row - initialRows);
        String word = store.word(row);
        if (!word.equals(expected)) {
            throw new AssertionError("row " + row + " has word '" + word + "', expected '" + expected + "'");
        }
        long found = store.rowOf(expected);
        if (found != row) {
            throw new AssertionError("rowOf('" + expected + "') = " + found + ", expected " + row);
        }
        store.read(row, buf);
        if (!StoreWriterProcess.isWhole(buf, 0, buf.length, store.dtype())) {
            throw new AssertionError("appended row " + row + " is not all-equal: " + buf[0] + " ... " + buf[buf.length - 1]);
        }
    }

    private static void report(String what, float[] values, int from, int length) {
        StringBuilder sb = new StringBuilder(what).append(':');
        float last = Float.NaN;
        for (int i = from; i < from + length; i++) {
            if (i == from || Float.compare(values[i], last) != 0) {
                sb.append(" [").append(i - from).append("]=").append(values[i]);
                last = values[i];
            }
        }
        System.err.println(sb);
    }
}
