package io.embstore.store.io;

import java.time.Instant;

/**
 * {@code -Dembstore.phases=true}: the wall clock at which each phase of a conversion or a store's commit ended, on
 * standard error, for measuring where the time goes (see benchmarks/results/conversion.md). Off, it costs one branch.
 */
public final class Phases {
    private static final boolean ENABLED = Boolean.getBoolean("embstore.phases");

    private Phases() {
    }

    /** Prints the wall clock (ms since the epoch) at which phase {@code name} ended, when enabled. */
    public static void ended(String name) {
        if (ENABLED) {
            Instant now = Instant.now();
            System.err.printf("embstore phase %-12s %d.%03d%n", name, now.toEpochMilli(), now.getNano() / 1000 % 1000);
        }
    }
}
