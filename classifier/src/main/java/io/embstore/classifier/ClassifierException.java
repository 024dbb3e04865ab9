package io.embstore.classifier;

/**
 * A classifier's input the user can fix: a model directory that is missing or damaged, training data that cannot
 * train a classifier, an evaluation file that is not there, a chart that cannot be drawn or written. The message
 * names the file and says what is wrong.
 */
public final class ClassifierException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What is wrong. */
    public enum Kind {
        /** Something asked for does not exist: the model directory, its model file, an evaluation file. */
        NOT_FOUND,
        /** The input is there but unusable: damaged, inconsistent, or not what the operation can work with. */
        INVALID
    }

    private final Kind kind;

    public ClassifierException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ClassifierException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
