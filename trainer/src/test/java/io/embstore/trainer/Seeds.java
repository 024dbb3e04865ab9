package io.embstore.trainer;

/** The seed of a randomised test: EMBSTORE_SEED (environment) or -Dembstore.seed replays one; printed either way. */
final class Seeds {
    private Seeds() {
    }

    static long seed(String test) {
        String env = System.getenv("EMBSTORE_SEED");
        long seed = env != null ? Long.parseLong(env) : Long.getLong("embstore.seed", System.nanoTime());
        System.out.println(test + " seed=" + seed + " (replay with EMBSTORE_SEED=" + seed + ")");
        return seed;
    }
}
