package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The inner loops of a similarity scan: dot products of one query with a block of consecutive rows, and the sum of
 * squares of a row. Rows are read from a {@link MemorySegment} (the mapped matrix for f32 rows, a heap segment over a
 * decoded block for f16 rows), so mapped and heap data share one path.
 *
 * <p>Two implementations: {@link ScalarSimilarityKernel} (plain Java) and {@code PanamaSimilarityKernel} (the Vector
 * API of the incubator module {@code jdk.incubator.vector}). {@link #selected()} picks one once per JVM, as Lucene's
 * {@code VectorizationProvider} does: SIMD when the module is present and the hardware has useful vectors, scalar
 * otherwise; the system property {@value #PROPERTY} ({@code scalar} or {@code simd}) forces either. The choice and its
 * reason are logged. Nothing here refers to {@code jdk.incubator.vector}, so the store loads without the module.
 *
 * <p>Both accumulate in float; they differ only in the order of additions, so their results differ by rounding
 * (a few ulps of the dot product), never by more.
 */
abstract class SimilarityKernel {
    /** System property forcing a kernel: {@code scalar} or {@code simd}. */
    static final String PROPERTY = "embstore.vector";
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32_BE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.BIG_ENDIAN);

    private static final System.Logger LOG = System.getLogger(SimilarityKernel.class.getName());
    private static final String PANAMA_CLASS = "io.embstore.store.PanamaSimilarityKernel";

    /** Name for logs and benchmarks: {@code scalar} or {@code simd}. */
    abstract String name();

    /** Whether this kernel is worth using on this machine (false for SIMD with fewer than 4 float lanes). */
    boolean useful() {
        return true;
    }

    /**
     * {@code out[j] = dot(query, row j)} for {@code j < n}, where row {@code j} is the {@code dim} floats at byte
     * {@code at + j * 4 * dim} of {@code rows} (rows back to back, as in the matrix) in byte order {@code order}: one
     * query against a block of rows, the shape of a single similarity query. Only the {@code n} rows are read.
     */
    abstract void rowDots(float[] query, MemorySegment rows, long at, ByteOrder order, int dim, int n, float[] out);

    /** The sum of squares of the row of {@code dim} floats at byte {@code at} of {@code rows}. */
    abstract float sumOfSquares(MemorySegment rows, long at, ByteOrder order, int dim);

    /**
     * {@code dst[i] = Float.float16ToFloat(half i)} for the {@code n} little-endian binary16 values at byte {@code at}
     * of {@code src}, bit for bit. {@code scratch} holds at least {@code n} shorts.
     */
    abstract void decodeHalves(MemorySegment src, long at, int n, short[] scratch, float[] dst);

    static ValueLayout.OfFloat floatLayout(ByteOrder order) {
        return order == ByteOrder.LITTLE_ENDIAN ? F32_LE : F32_BE;
    }

    /** The kernel chosen for this JVM. */
    static SimilarityKernel selected() {
        SimilarityKernel k = Selection.KERNEL;
        if (k == null) {
            throw new IllegalStateException(Selection.FAILURE);
        }
        return k;
    }

    /** The plain Java kernel. */
    static SimilarityKernel scalar() {
        return ScalarSimilarityKernel.INSTANCE;
    }

    /**
     * The Vector API kernel.
     *
     * @throws IllegalStateException with the reason when it cannot be used in this JVM
     */
    static SimilarityKernel simd() {
        if (!ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            throw new IllegalStateException("the Vector API module is not present: run java with"
                    + " --add-modules jdk.incubator.vector");
        }
        try {
            return (SimilarityKernel) Class.forName(PANAMA_CLASS).getDeclaredConstructor().newInstance();
        } catch (LinkageError | ReflectiveOperationException e) {
            throw new IllegalStateException("the Vector API kernel cannot be loaded: " + e, e);
        }
    }

    /** Holder, so the choice is made (and logged) once, on first use, and a forced choice that fails stays explained. */
    private static final class Selection {
        static final SimilarityKernel KERNEL;
        static final String FAILURE;

        static {
            SimilarityKernel kernel = null;
            String failure = null;
            String forced = System.getProperty(PROPERTY, "");
            switch (forced) {
                case "scalar" -> {
                    kernel = scalar();
                    LOG.log(System.Logger.Level.DEBUG, "similarity kernel: scalar (forced by -D" + PROPERTY + "=scalar)");
                }
                case "simd" -> {
                    try {
                        kernel = simd();
                        LOG.log(System.Logger.Level.DEBUG, "similarity kernel: " + kernel + " (forced by -D" + PROPERTY + "=simd)");
                    } catch (IllegalStateException e) {
                        failure = "-D" + PROPERTY + "=simd, but " + e.getMessage();
                        LOG.log(System.Logger.Level.ERROR, failure);
                    }
                }
                case "" -> {
                    try {
                        SimilarityKernel simd = simd();
                        if (simd.useful()) {
                            kernel = simd;
                            LOG.log(System.Logger.Level.DEBUG, "similarity kernel: " + simd);
                        } else {
                            kernel = scalar();
                            LOG.log(System.Logger.Level.DEBUG, "similarity kernel: scalar, because " + simd
                                    + " has too few lanes to pay off");
                        }
                    } catch (IllegalStateException e) {
                        kernel = scalar();
                        // Worth a line: the user may want the faster kernel (--add-modules jdk.incubator.vector).
                        LOG.log(System.Logger.Level.INFO, "similarity kernel: scalar, because " + e.getMessage());
                    }
                }
                default -> {
                    failure = "-D" + PROPERTY + "=" + forced + " is not a kernel: use scalar or simd";
                    LOG.log(System.Logger.Level.ERROR, failure);
                }
            }
            KERNEL = kernel;
            FAILURE = failure;
        }
    }
}
