package io.embstore.replication;

import io.embstore.store.Dtype;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One record of a replication topic, its key and value (layout in docs/FORMAT.md). Every value starts with the same
 * 24-byte header describing the table (dtype, dim, vocabulary) and the topic's layout (partitions, rows per
 * partition), so that a replica checks each record against its own table before it applies anything, and a record of
 * another program or another table is refused by name.
 *
 * <p>A row record is keyed by its row number, so a compacted topic keeps the latest value of every row; a checkpoint
 * marker is keyed by {@link #MARKER_KEY} in every partition, so compaction keeps the latest marker of each.
 */
sealed interface DeltaRecord {
    long MAGIC = 0x3150455253424d45L; // "EMBSREP1" little-endian
    int HEADER_BYTES = 24;
    byte KIND_ROW = 1;
    byte KIND_CHECKPOINT = 2;
    int CHECKPOINT_BYTES = HEADER_BYTES + 24;
    /** The key of checkpoint markers; row keys are row numbers, never negative. */
    long MARKER_KEY = -1L;

    /** What every record says about its table and topic. */
    record Shape(Dtype dtype, int dim, boolean vocabulary, int partitions, int rowsPerPartition) {
        /** The partition that carries {@code row}: contiguous row ranges, rows past the last range in the last. */
        int partitionOf(long row) {
            return (int) Math.min(partitions - 1, row / rowsPerPartition);
        }

        String describe() {
            return dtype.label() + " dim " + dim + (vocabulary ? " with vocabulary" : " without vocabulary") + ", "
                    + partitions + " partitions of " + rowsPerPartition + " rows";
        }
    }

    Shape shape();

    /** Row {@code row}'s values (as f32, whatever the dtype: f16 values convert exactly) and its word (or null). */
    record Row(Shape shape, long row, float[] values, String word) implements DeltaRecord {
    }

    /** The end of one publish: every row the checkpoint at {@code generation} changed was sent before it. */
    record Checkpoint(Shape shape, long generation, long rows, long sequence) implements DeltaRecord {
    }

    static byte[] key(long row) {
        return ByteBuffer.allocate(8).putLong(row).array();
    }

    static byte[] encodeRow(Shape s, long row, float[] values, String word) {
        byte[] w = word == null ? new byte[0] : word.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = header(s, KIND_ROW, HEADER_BYTES + 12 + 4 * s.dim() + w.length);
        b.putLong(row).putInt(w.length);
        for (int i = 0; i < s.dim(); i++) {
            b.putFloat(values[i]);
        }
        b.put(w);
        return b.array();
    }

    static byte[] encodeCheckpoint(Shape s, long generation, long rows, long sequence) {
        return header(s, KIND_CHECKPOINT, CHECKPOINT_BYTES).putLong(generation).putLong(rows).putLong(sequence).array();
    }

    private static ByteBuffer header(Shape s, byte kind, int bytes) {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).put(kind).put((byte) dtypeCode(s.dtype())).put((byte) (s.vocabulary() ? 1 : 0)).put((byte) 0);
        b.putInt(s.dim()).putInt(s.partitions()).putInt(s.rowsPerPartition());
        return b;
    }

    private static int dtypeCode(Dtype d) {
        return switch (d) {
            case F32 -> 0;
            case F16 -> 1;
            default -> throw new IllegalArgumentException("only f32 and f16 tables are replicated, not " + d.label());
        };
    }

    /**
     * Decodes a record; {@code where} (topic, partition, offset) goes into the message of a record that is not one
     * of ours or is malformed.
     */
    static DeltaRecord decode(byte[] key, byte[] value, String where) {
        if (value == null || value.length < HEADER_BYTES) {
            throw foreign(where, "a value of " + (value == null ? "null" : value.length + " bytes"));
        }
        ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong() != MAGIC) {
            throw foreign(where, "no EMBSREP1 magic");
        }
        byte kind = b.get();
        int dt = b.get();
        int vocab = b.get();
        b.get();
        int dim = b.getInt();
        int partitions = b.getInt();
        int rpp = b.getInt();
        Dtype dtype = switch (dt) {
            case 0 -> Dtype.F32;
            case 1 -> Dtype.F16;
            default -> throw malformed(where, "unknown dtype code " + dt);
        };
        if (dim < 1 || partitions < 1 || rpp < 1 || (vocab & ~1) != 0) {
            throw malformed(where, "dim " + dim + ", partitions " + partitions + ", rows per partition " + rpp);
        }
        Shape shape = new Shape(dtype, dim, vocab == 1, partitions, rpp);
        long k = key == null || key.length != 8 ? Long.MIN_VALUE : ByteBuffer.wrap(key).getLong();
        if (kind == KIND_CHECKPOINT) {
            if (value.length != CHECKPOINT_BYTES || k != MARKER_KEY) {
                throw malformed(where, "a checkpoint marker of " + value.length + " bytes");
            }
            return new Checkpoint(shape, b.getLong(), b.getLong(), b.getLong());
        }
        if (kind != KIND_ROW) {
            throw malformed(where, "unknown record kind " + kind);
        }
        long row = b.getLong();
        int wordBytes = b.getInt();
        if (row < 0 || row != k || wordBytes < 0 || value.length != HEADER_BYTES + 12 + 4L * dim + wordBytes
                || (wordBytes > 0) != shape.vocabulary()) {
            throw malformed(where, "a row record (row " + row + ", key " + k + ") of " + value.length + " bytes");
        }
        float[] values = new float[dim];
        for (int i = 0; i < dim; i++) {
            values[i] = b.getFloat();
        }
        String word = wordBytes == 0 ? null : new String(value, b.position(), wordBytes, StandardCharsets.UTF_8);
        return new Row(shape, row, values, word);
    }

    private static ReplicationException foreign(String where, String what) {
        return new ReplicationException(where + ": not a record of 'embstore publish' (" + what + "): is this the"
                + " topic a publisher writes to?");
    }

    private static ReplicationException malformed(String where, String what) {
        return new ReplicationException(where + ": malformed embstore record: " + what);
    }
}
