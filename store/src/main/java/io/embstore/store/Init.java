package io.embstore.store;

import java.util.Objects;

/**
 * How a new store's rows start. Every initialiser is deterministic for a seed, whatever the number of threads.
 */
public sealed interface Init {
    /** Normal(0, 1): PyTorch's {@code nn.Embedding} default. */
    static Init normal(long seed) {
        return new Normal(0, 1, seed);
    }

    /** Normal(mean, std). */
    static Init normal(double mean, double std, long seed) {
        return new Normal(mean, std, seed);
    }

    /** Uniform(-0.05, 0.05): Keras' {@code Embedding} default. */
    static Init kerasUniform(long seed) {
        return new Uniform(-0.05, 0.05, seed);
    }

    /** Uniform(low, high). */
    static Init uniform(double low, double high, long seed) {
        return new Uniform(low, high, seed);
    }

    /** All zeros: nothing is written, the blocks are reserved (a later write cannot fault on a full disk). */
    static Init zeros() {
        return new Zeros();
    }

    /** The rows (and, unless words are given, the words) of another store, converted to this store's dtype. */
    static Init copyOf(EmbeddingStore source) {
        return new CopyOf(source);
    }

    /** Normal distribution. */
    record Normal(double mean, double std, long seed) implements Init {
    }

    /** Uniform distribution over [low, high). */
    record Uniform(double low, double high, long seed) implements Init {
    }

    /** Zeros. */
    record Zeros() implements Init {
    }

    /** A copy of another store. */
    record CopyOf(EmbeddingStore source) implements Init {
        public CopyOf {
            Objects.requireNonNull(source, "source");
        }
    }
}
