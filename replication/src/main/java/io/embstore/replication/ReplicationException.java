package io.embstore.replication;

/**
 * Replication failed for a reason the user can act on: a topic that holds something other than embstore records, a
 * record for a table of another shape, a broker that cannot be reached, a replica directory that is not a replica of
 * the topic. The message names the topic, partition and offset, or the file, it is about; nothing was applied from
 * the record it names.
 */
public final class ReplicationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final boolean brokersUnavailable;

    public ReplicationException(String message) {
        this(message, null, false);
    }

    public ReplicationException(String message, Throwable cause) {
        this(message, cause, false);
    }

    ReplicationException(String message, Throwable cause, boolean brokersUnavailable) {
        super(message, cause);
        this.brokersUnavailable = brokersUnavailable;
    }

    /**
     * Whether the brokers did not answer in time (down, restarting, unreachable): the same call may succeed later, and a
     * following publisher or replica retries it; any other failure stops them.
     */
    public boolean brokersUnavailable() {
        return brokersUnavailable;
    }
}
