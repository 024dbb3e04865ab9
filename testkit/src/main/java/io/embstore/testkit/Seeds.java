package io.embstore.testkit;

/**
 * The seed of a randomised test: {@code EMBSTORE_SEED} (environment) or {@code -Dembstore.seed} replays one; printed
 * with the test's name either way, so that a failure in CI can be run again with the same data.
 */
public final class Seeds {
    private Seeds() {
    }

    /** The seed for {@code test}, printed with how to replay it. */
    public static long seed(String test) {
        String env = System.getenv("EMBSTORE_SEED");
        long seed = env != null ? Long.parseLong(env.strip()) : Long.getLong("embstore.seed", System.nanoTime());
        System.out.println(test + " seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        return seed;
    }
}
