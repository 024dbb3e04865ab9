package io.embstore.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.embstore.testkit.Seeds;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The coalescer against a map-based reference: unique rows in order of first appearance, each row's positions in
 * increasing order, the skipped row left out; one coalescer reused across steps of every size (its map is
 * cleared and grows), with ids that collide in its table (multiples of its size) and ids near int's limit.
 */
class StepCoalescerTest {

    @Test
    void matchesAMapBasedReferenceAcrossReusedStepsOfEverySize() {
        SplittableRandom r = new SplittableRandom(Seeds.seed("coalescer"));
        StepCoalescer c = new StepCoalescer();
        for (int round = 0; round < 300; round++) {
            int n = switch (round % 4) {
                case 0 -> r.nextInt(5);
                case 1 -> 1 + r.nextInt(100);
                case 2 -> 1 + r.nextInt(5000);
                default -> 1 + r.nextInt(40_000);
            };
            int kind = r.nextInt(4);
            int range = 1 + r.nextInt(n + 10);
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = switch (kind) {
                    case 0 -> r.nextInt(range); // many duplicates
                    case 1 -> r.nextInt(Integer.MAX_VALUE); // near-unique, over the whole int range
                    case 2 -> (long) r.nextInt(range) << 14; // equal low bits: one probe chain if hashed naively
                    default -> Integer.MAX_VALUE - r.nextInt(range); // the largest rows
                };
            }
            long skip = n > 0 && r.nextBoolean() ? ids[r.nextInt(n)] : -1;
            boolean asInts = r.nextBoolean();
            if (asInts) {
                c.coalesce(Arrays.stream(ids).mapToInt(x -> (int) x).toArray(), null, n, skip, null);
            } else {
                c.coalesce(null, ids, n, skip, null);
            }
            Map<Long, List<Integer>> expected = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                if (ids[i] != skip) {
                    expected.computeIfAbsent(ids[i], k -> new ArrayList<>()).add(i);
                }
            }
            assertEquals(expected.size(), c.unique, "round " + round + ": unique rows");
            int k = 0;
            for (var e : expected.entrySet()) {
                assertEquals((long) e.getKey(), c.rows[k], "round " + round + ": row " + k);
                int[] got = Arrays.copyOfRange(c.positions, c.starts[k], c.starts[k + 1]);
                assertArrayEquals(e.getValue().stream().mapToInt(Integer::intValue).toArray(), got,
                        "round " + round + ": positions of row " + e.getKey());
                k++;
            }
        }
    }
}
