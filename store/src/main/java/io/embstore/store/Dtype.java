package io.embstore.store;

/** Element type of the matrix. Reads always give float32. */
public enum Dtype {
    /** IEEE binary32, NumPy {@code <f4}. */
    F32("f32", "<f4", 4),
    /** IEEE binary16, NumPy {@code <f2}: half the bytes, about 3 significant digits. */
    F16("f16", "<f2", 2);

    private final String label;
    private final String npyDescr;
    private final int bytes;

    Dtype(String label, String npyDescr, int bytes) {
        this.label = label;
        this.npyDescr = npyDescr;
        this.bytes = bytes;
    }

    /** The name used in manifests and on the command line: {@code f32} or {@code f16}. */
    public String label() {
        return label;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The NumPy dtype string: {@code <f4} or {@code <f2}. */
    public String npyDescr() {
        return npyDescr;
    }

    /** The dtype named {@code label} ({@code f32}, {@code f16}), or null. */
    public static Dtype fromLabel(String label) {
        for (Dtype d : values()) {
            if (d.label.equals(label)) {
                return d;
            }
        }
        return null;
    }

    /** The dtype of the NumPy dtype string {@code descr} ({@code <f4}, {@code <f2}), or null. */
    public static Dtype fromNpyDescr(String descr) {
        for (Dtype d : values()) {
            if (d.npyDescr.equals(descr)) {
                return d;
            }
        }
        return null;
    }
}
