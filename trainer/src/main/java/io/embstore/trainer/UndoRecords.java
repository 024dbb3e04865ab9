package io.embstore.trainer;

import io.embstore.store.ReadMode;
import io.embstore.store.WritableStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.roaringbitmap.RoaringBitmap;

/**
 * A row's pre-image as an {@link UndoLog} record, both ways: the trainer writes the pre-images of a step's newly dirty
 * rows before the step changes them, and {@link SparseTrainer#attach} puts the committed epoch's records back.
 */
final class UndoRecords {
    private static final ValueLayout.OfFloat F32_UNALIGNED =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final WritableStore store;
    private final OptimizerState state;
    private final UndoLog undo;
    private final int dim;
    private ByteBuffer batch = ByteBuffer.allocate(0);

    UndoRecords(WritableStore store, OptimizerState state, UndoLog undo) {
        this.store = store;
        this.state = state;
        this.undo = undo;
        this.dim = store.dim();
    }

    /**
     * Appends the pre-images (weights, state, counters) of {@code rows[0, count)} in one batch and forces the log once.
     * {@code weights} is scratch of {@code dim} floats.
     */
    void logPreImages(int[] rows, int count, long epoch, float[] weights) {
        int rb = undo.recordBytes();
        if (batch.capacity() < count * rb) {
            batch = ByteBuffer.allocate(Math.max(count * rb, batch.capacity() * 2)).order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer b = batch;
        b.clear();
        MemorySegment seg = MemorySegment.ofArray(b.array());
        int stateFloats = state.stateFloats();
        for (int i = 0; i < count; i++) {
            int row = rows[i];
            int base = i * rb;
            b.putLong(base + UndoLog.ROW_OFFSET, row).putLong(base + UndoLog.EPOCH_OFFSET, epoch)
                    .putLong(base + UndoLog.COUNT_OFFSET, state.updateCount(row))
                    .putLong(base + UndoLog.LAST_STEP_OFFSET, state.lastStep(row));
            store.read(row, weights, 0, ReadMode.RELAXED); // we are the only writer
            MemorySegment.copy(weights, 0, seg, F32_UNALIGNED, base + UndoLog.WEIGHTS_OFFSET, dim);
            state.saveFloats(row, seg, base + UndoLog.WEIGHTS_OFFSET + 4L * dim);
            for (int z = UndoLog.crcOffset(dim, stateFloats) + 4; z < rb; z++) {
                b.put(base + z, (byte) 0);
            }
        }
        undo.append(b, count, UndoLog.crcOffset(dim, stateFloats));
        undo.force(); // the pre-images are on disk before any page of these rows can be
    }

    /**
     * What {@link UndoLog#open} calls with each sound record at attach: a record of the committed checkpoint's
     * {@code epoch} is written back into the store and the state, its row added to {@code restored}.
     */
    static Consumer<ByteBuffer> rollBack(WritableStore store, OptimizerState state, long epoch, RoaringBitmap restored) {
        Path dir = store.path();
        float[] weights = new float[store.dim()];
        return rec -> {
            if (rec.getLong(UndoLog.EPOCH_OFFSET) != epoch) {
                return; // written before the last checkpoint committed: already superseded
            }
            long row = rec.getLong(UndoLog.ROW_OFFSET);
            if (row < 0 || row >= store.rows() || row == store.paddingIndex()) {
                throw StateErrors.corrupt(dir.resolve(UndoLog.FILE), "a record for row " + row
                        + ", which the store (" + store.rows() + " rows) cannot have changed");
            }
            MemorySegment seg = MemorySegment.ofArray(rec.array());
            MemorySegment.copy(seg, F32_UNALIGNED, UndoLog.WEIGHTS_OFFSET, weights, 0, weights.length);
            store.write(row, weights);
            state.restoreFloats(row, seg, UndoLog.WEIGHTS_OFFSET + 4L * store.dim());
            state.counters(row, rec.getLong(UndoLog.COUNT_OFFSET), rec.getLong(UndoLog.LAST_STEP_OFFSET));
            restored.add((int) row);
        };
    }
}
