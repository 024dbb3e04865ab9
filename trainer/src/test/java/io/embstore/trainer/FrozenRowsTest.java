package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.embstore.store.Dtype;
import io.embstore.store.WritableStore;
import io.embstore.testkit.Seeds;
import io.embstore.trainer.SparseTrainer.Algorithm;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.roaringbitmap.RoaringBitmap;

/** {@link SparseTrainer#freezeRows}: frozen rows and their state stay bit for bit while the rows beside them train. */
class FrozenRowsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void frozenRowsStayBitIdenticalWhileTheOthersTrain(Algorithm algorithm) {
        SplittableRandom r = new SplittableRandom(Seeds.seed("frozenRows " + algorithm));
        RoaringBitmap frozen = new RoaringBitmap();
        for (int row = 0; row < SparseTrainerTest.ROWS; row += 3) {
            frozen.add(row); // every third row, the hot rows 0..7 among them
        }
        try (WritableStore s = SparseTrainerTest.newStore(tmp.resolve("s"), r.nextLong(), Dtype.F32);
             SparseTrainer trainer = SparseTrainer.attach(s, SparseTrainerTest.options(algorithm).threads(2).build())) {
            trainer.freezeRows(frozen);
            byte[][] before = SparseTrainerTest.snapshot(s);
            long[] stateBefore = SparseTrainerTest.stateRowChecksums(trainer);
            boolean[] stepped = new boolean[SparseTrainerTest.ROWS];
            for (int step = 0; step < 30; step++) {
                int[] ids = SparseTrainerTest.ids(r, 1 + r.nextInt(60), SparseTrainerTest.ROWS);
                for (int id : ids) {
                    stepped[id] = true;
                }
                trainer.step(ids, SparseTrainerTest.grads(r, ids.length));
            }
            byte[][] after = SparseTrainerTest.snapshot(s);
            long[] stateAfter = SparseTrainerTest.stateRowChecksums(trainer);
            int moved = 0;
            for (int row = 0; row < SparseTrainerTest.ROWS; row++) {
                if (frozen.contains(row) || row == SparseTrainerTest.PADDING || !stepped[row]) {
                    assertArrayEquals(before[row], after[row], "row " + row);
                    assertEquals(stateBefore[row], stateAfter[row], "state of row " + row);
                    assertFalse(trainer.dirtyRows().contains(row), "row " + row + " is not dirty");
                } else {
                    assertNotEquals(Arrays.hashCode(before[row]), Arrays.hashCode(after[row]), "row " + row + " trained");
                    moved++;
                }
            }
            assertNotEquals(0, moved);
            // Unfrozen again (an empty set), a frozen row trains like any other.
            trainer.freezeRows(new RoaringBitmap());
            trainer.step(new int[] {0}, SparseTrainerTest.grads(r, 1));
            assertNotEquals(Arrays.hashCode(before[0]), Arrays.hashCode(SparseTrainerTest.rowBytes(s, 0)));
            RoaringBitmap outside = RoaringBitmap.bitmapOf(SparseTrainerTest.ROWS);
            assertThrows(IllegalArgumentException.class, () -> trainer.freezeRows(outside));
        }
    }
}
