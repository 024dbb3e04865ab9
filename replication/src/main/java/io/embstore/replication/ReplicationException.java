package io.embstore.replication;

/**
 * Replication failed for a reason the user can act on: a topic that holds something other than embstore records, a
 * record for a table of another shape, a broker that cannot be reached, a replica directory that is not a replica of
 * the topic. The message names the topic, partition and offset, or the file, it is about; nothing was applied from
 * the record it names.
 */
public final class ReplicationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ReplicationException(String message) {
        super(message);
    }

    public ReplicationException(String message, Throwable cause) {
        super(message, cause);
    }
}
