package io.embstore.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Layout of the row-wise quantized dtypes {@link Dtype#Q8} and {@link Dtype#Q4} (FBGEMM's "fused" rows), and the
 * conversions between float32 values and stored rows.
 *
 * <pre>
 *  q8, 8 + dim bytes a row:
 *  0        4        8      9             8 + dim
 *  +--------+--------+------+---- ... ----+
 *  | scale  | bias   | q[0] | q[1] ...    |   scale, bias: float32 LE; q: uint8
 *  +--------+--------+------+---- ... ----+
 *
 *  q4, 4 + ceil(dim / 2) bytes a row:
 *  0      2      4                  5                       4 + ceil(dim / 2)
 *  +------+------+------------------+---- ... ----+
 *  |scale | bias | q[1] <<4 | q[0]  | q[3]<<4|q[2] |   scale, bias: binary16 LE; two 4-bit codes a byte, low first;
 *  +------+------+------------------+---- ... ----+   an odd dim leaves the last high nibble 0
 * </pre>
 *
 * Value {@code i} reads as {@code scale * q[i] + bias}, evaluated in float32 as a multiply then an add (never fused), so
 * NumPy's {@code q.astype(float32) * scale + bias} gives the same bits.
 *
 * <p>Quantizing a row: {@code bias} is the row's minimum (rounded down to binary16 for q4) and {@code scale} is
 * {@code (max - bias) / 255} (or {@code / 15}) rounded <em>up</em> to the stored type, so that every code
 * {@code round((x - bias) / scale)} lies in {@code [0, 255]} ({@code [0, 15]}) without clamping and every value reads
 * back within {@code scale / 2} (plus the float rounding of the read, at most an ulp of the row's magnitude). A row whose
 * values are all equal, and representable as the bias, gets scale 0 and reads back exactly. NaN and infinite values
 * are refused, as are rows whose range the stored scale cannot hold (q8: an extreme value would read as infinity; q4:
 * beyond binary16's 65504).
 */
final class QuantizedRows {
    /** Bytes before the codes of a q8 row: float32 scale, float32 bias. */
    static final int Q8_HEADER_BYTES = 8;
    /** Bytes before the codes of a q4 row: binary16 scale, binary16 bias. */
    static final int Q4_HEADER_BYTES = 4;
    /** Largest q8 code. */
    static final int Q8_MAX = 255;
    /** Largest q4 code. */
    static final int Q4_MAX = 15;
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float HALF_MAX = 65504f;

    private QuantizedRows() {
    }

    /** Offset of the codes inside a row of {@code dtype}. */
    static int headerBytes(Dtype dtype) {
        return dtype == Dtype.Q8 ? Q8_HEADER_BYTES : Q4_HEADER_BYTES;
    }

    /** Bytes of the codes of a row of {@code dim} elements. */
    static int codeBytes(Dtype dtype, int dim) {
        return dtype == Dtype.Q8 ? dim : (dim + 1) / 2;
    }

    /**
     * Why {@code src[offset, offset + dim)} cannot be stored as {@code dtype}, or null when it can. The message names
     * the row by {@code word} when not null, else by {@code row} when not negative.
     */
    static String problem(Dtype dtype, float[] src, int offset, int dim, long row, String word) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < dim; i++) {
            float x = src[offset + i];
            if (!Float.isFinite(x)) {
                return name(row, word) + " has the value " + x + " at column " + i + ": " + dtype.label()
                        + " rows hold finite values only (a quantized row has no code for NaN or infinity)";
            }
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        if (dtype == Dtype.Q8) {
            float scale = q8Scale(min, max);
            if (!Float.isFinite(scale * Q8_MAX + min)) {
                return name(row, word) + " spans [" + min + ", " + max + "]: too wide for " + dtype.label()
                        + " (its largest value would read back as infinity); store it as f32";
            }
        } else {
            short bias = halfAtMost(min);
            if (!Float.isFinite(Float.float16ToFloat(bias)) || !Float.isFinite(Float.float16ToFloat(q4Scale(bias, max)))) {
                return name(row, word) + " spans [" + min + ", " + max + "]: beyond what " + dtype.label()
                        + "'s binary16 scale and bias hold (|x| <= " + HALF_MAX + ", range <= 15 x " + HALF_MAX
                        + "); store it as q8 or f32";
            }
        }
        return null;
    }

    private static String name(long row, String word) {
        return word != null ? "word '" + word + "'" : row >= 0 ? "row " + row : "the row";
    }

    /**
     * Checks {@code src[offset, offset + dim)} can be stored as {@code dtype}.
     *
     * @throws IllegalArgumentException naming the row ({@code word}, else {@code row} when not negative) and the bad
     *                                  value
     */
    static void check(Dtype dtype, float[] src, int offset, int dim, long row, String word) {
        String problem = problem(dtype, src, offset, dim, row, word);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** The q8 scale of a row spanning [min, max]: (max - min) / 255 rounded up to float32, 0 for a constant row. */
    private static float q8Scale(float min, float max) {
        double exact = ((double) max - min) / Q8_MAX;
        float scale = (float) exact;
        return scale < exact ? Math.nextUp(scale) : scale;
    }

    /**
     * The q4 scale (binary16 bits) of a row from {@code bias} to {@code max}: (max - bias) / 15 rounded up, 0 when the
     * row is constant and equal to its bias.
     */
    private static short q4Scale(short bias, float max) {
        double exact = ((double) max - Float.float16ToFloat(bias)) / Q4_MAX;
        short h = Float.floatToFloat16((float) exact);
        return Float.float16ToFloat(h) < exact ? (short) (h + 1) : h;
    }

    /** The largest binary16 value at most {@code x} (its bits). */
    static short halfAtMost(float x) {
        short h = Float.floatToFloat16(x);
        if (Float.float16ToFloat(h) <= x) {
            return h;
        }
        // One step towards negative infinity: sign-magnitude bits, so a negative value's magnitude grows by one.
        if ((h & 0x7fff) == 0) {
            return (short) 0x8001;
        }
        return h < 0 ? (short) (h + 1) : (short) (h - 1);
    }

    /**
     * Quantizes {@code src[offset, offset + dim)} into the row at byte {@code at} of {@code dst}. The row must have
     * passed {@link #check} (writers check before they start writing, so that a refused row leaves nothing behind).
     */
    static void quantize(Dtype dtype, float[] src, int offset, int dim, MemorySegment dst, long at) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < dim; i++) {
            float x = src[offset + i];
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        if (dtype == Dtype.Q8) {
            float scale = q8Scale(min, max);
            dst.set(F32_LE, at, scale);
            dst.set(F32_LE, at + 4, min);
            double inverse = scale == 0 ? 0 : 1.0 / scale;
            long codes = at + Q8_HEADER_BYTES;
            for (int i = 0; i < dim; i++) {
                dst.set(ValueLayout.JAVA_BYTE, codes + i, (byte) code((src[offset + i] - (double) min) * inverse, Q8_MAX));
            }
        } else {
            short bias = halfAtMost(min);
            short scaleBits = q4Scale(bias, max);
            dst.set(F16_LE, at, scaleBits);
            dst.set(F16_LE, at + 2, bias);
            double b = Float.float16ToFloat(bias);
            float scale = Float.float16ToFloat(scaleBits);
            double inverse = scale == 0 ? 0 : 1.0 / scale;
            long codes = at + Q4_HEADER_BYTES;
            for (int i = 0; i < dim; i += 2) {
                int lo = code((src[offset + i] - b) * inverse, Q4_MAX);
                int hi = i + 1 < dim ? code((src[offset + i + 1] - b) * inverse, Q4_MAX) : 0;
                dst.set(ValueLayout.JAVA_BYTE, codes + i / 2, (byte) (hi << 4 | lo));
            }
        }
    }

    /**
     * The code nearest {@code steps} (ties to even), within [0, max]. The clamp only absorbs the last bit of the double
     * division: the scale was rounded up, so the exact quotient never exceeds max.
     */
    private static int code(double steps, int max) {
        return (int) Math.max(0, Math.min(max, Math.rint(steps)));
    }

    /** The scale of the stored row at byte {@code at}, as float32. */
    static float scale(Dtype dtype, MemorySegment src, long at) {
        return dtype == Dtype.Q8 ? src.get(F32_LE, at) : Float.float16ToFloat(src.get(F16_LE, at));
    }

    /** The bias of the stored row at byte {@code at}, as float32. */
    static float bias(Dtype dtype, MemorySegment src, long at) {
        return dtype == Dtype.Q8 ? src.get(F32_LE, at + 4) : Float.float16ToFloat(src.get(F16_LE, at + 2));
    }

    /**
     * Dequantizes the stored row at byte {@code at} of {@code src} into {@code dst[offset, offset + dim)}: q8 through
     * the read kernel ({@link QuantizedKernel#dequantize8}), q4 from its codes copied out in one call to {@code codes}
     * (scratch of at least {@link #codeBytes} bytes).
     */
    static void dequantize(Dtype dtype, MemorySegment src, long at, int dim, byte[] codes, float[] dst, int offset) {
        float scale = scale(dtype, src, at);
        float bias = bias(dtype, src, at);
        if (dtype == Dtype.Q8) {
            QuantizedKernel.forReads().dequantize8(src, at + Q8_HEADER_BYTES, dim, scale, bias, codes, dst, offset);
            return;
        }
        int header = headerBytes(dtype);
        int n = codeBytes(dtype, dim);
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, at + header, codes, 0, n);
        int pairs = dim / 2;
        for (int j = 0; j < pairs; j++) {
            int c = codes[j];
            dst[offset + 2 * j] = scale * (c & 0xf) + bias;
            dst[offset + 2 * j + 1] = scale * ((c >>> 4) & 0xf) + bias;
        }
        if ((dim & 1) != 0) {
            dst[offset + dim - 1] = scale * (codes[pairs] & 0xf) + bias;
        }
    }

    /** The values {@code src[offset, offset + dim)} read back as after storing them as {@code dtype}, into {@code dst}. */
    static void roundTrip(Dtype dtype, float[] src, int offset, int dim, float[] dst) {
        MemorySegment row = MemorySegment.ofArray(new byte[(int) dtype.rowBytes(dim)]);
        check(dtype, src, offset, dim, -1, null);
        quantize(dtype, src, offset, dim, row, 0);
        dequantize(dtype, row, 0, dim, new byte[codeBytes(dtype, dim)], dst, 0);
    }
}
