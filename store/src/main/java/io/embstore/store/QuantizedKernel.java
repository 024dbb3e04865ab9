package io.embstore.store;

import java.lang.foreign.MemorySegment;

/**
 * The inner loops of a similarity scan over quantized rows ({@link QuantizedScan}): the dot products of one query
 * with the codes of a block of rows, read straight from the mapped matrix. A row's dot with the query is then
 * {@code scale * codeDot + bias * sum(query)}, so the codes are never dequantized into a float row.
 *
 * <p>Two implementations, chosen to match the float kernel in use ({@link #matching}): {@link ScalarQuantizedKernel}
 * and {@code PanamaQuantizedKernel}, which widens bytes to float lanes with the Vector API and reads a quarter of the
 * bytes an f32 scan reads. Like the float kernels they accumulate in float and differ only in the order of additions.
 */
abstract class QuantizedKernel {
    private static final String PANAMA_CLASS = "io.embstore.store.PanamaQuantizedKernel";

    /**
     * {@code out[j] = sum_i query[i] * code(j, i)} for the {@code n} q8 rows whose codes start at byte
     * {@code codesAt + j * rowBytes} of {@code rows}, {@code dim} unsigned bytes each.
     */
    abstract void q8Dots(float[] query, MemorySegment rows, long codesAt, long rowBytes, int dim, int n, float[] out);

    /**
     * {@code out[j] = sum_k even[k] * low(j, k) + odd[k] * high(j, k)} for the {@code n} q4 rows whose {@code pairs}
     * code bytes start at byte {@code codesAt + j * rowBytes}: {@code even} and {@code odd} are the query's even and
     * odd elements ({@code odd} ends with 0 for an odd dim), so the nibbles need no interleaving.
     */
    abstract void q4Dots(float[] even, float[] odd, MemorySegment rows, long codesAt, long rowBytes, int pairs, int n,
                         float[] out);

    /**
     * {@code dst[offset + i] = scale * code(i) + bias} for the {@code dim} q8 codes at byte {@code codesAt} of
     * {@code src}: a float32 multiply, then an add (never fused), so every kernel gives the same bits. {@code codes}
     * is scratch of at least {@code dim} bytes, for the kernels that copy the codes out first.
     */
    abstract void dequantize8(MemorySegment src, long codesAt, int dim, float scale, float bias, byte[] codes, float[] dst,
                     int offset);

    /** The kernel for reads and gathers: the one matching the float kernel selected for this JVM. */
    static QuantizedKernel forReads() {
        return Reads.KERNEL;
    }

    /** Holder: chosen on first read; the float kernel's selection logs why. */
    private static final class Reads {
        static final QuantizedKernel KERNEL = choose();

        private static QuantizedKernel choose() {
            try {
                return matching(SimilarityKernel.selected());
            } catch (IllegalStateException e) {
                // A forced kernel that cannot load: queries report it; reads still work, in plain Java.
                return ScalarQuantizedKernel.INSTANCE;
            }
        }
    }

    /** The quantized kernel of the same kind as {@code kernel}: SIMD beside the SIMD float kernel, else scalar. */
    static QuantizedKernel matching(SimilarityKernel kernel) {
        if (!kernel.name().equals("simd")) {
            return ScalarQuantizedKernel.INSTANCE;
        }
        return Panama.KERNEL;
    }

    /**
     * Holder: the Vector API class is loaded on first use only, when the float kernel already proved it links. Fewer
     * than 8 float lanes would need a byte vector narrower than the 64-bit minimum: scalar then.
     */
    private static final class Panama {
        static final QuantizedKernel KERNEL;

        static {
            QuantizedKernel kernel;
            try {
                kernel = (QuantizedKernel) Class.forName(PANAMA_CLASS).getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError | IllegalArgumentException e) {
                System.getLogger(QuantizedKernel.class.getName()).log(System.Logger.Level.INFO,
                        "quantized similarity kernel: scalar, because the Vector API one cannot run here: " + e);
                kernel = ScalarQuantizedKernel.INSTANCE;
            }
            KERNEL = kernel;
        }
    }
}
