package io.embstore.trainer;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.io.DurableFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Every force the trainer makes, of its own files and of the store's matrix, goes through here. {@link #SYSTEM} forces;
 * tests pass a recording one to {@link SparseTrainer#attach(EmbeddingStore, SparseTrainer.Options, Durability)} to
 * check the order of the forces and to compute what a power cut would leave on the disk (SQLite's test VFS does the
 * same for its journal): a crash that kills the process keeps the page cache, so only this seam can see a missing
 * force. It is also the {@link DurableFiles.Forcing} of the files the trainer replaces whole ({@code optim.meta},
 * {@code optim.checkpoint}), so those forces are recorded with the others.
 */
interface Durability extends DurableFiles.Forcing {
    /**
     * fsync ({@code metaData}) or fdatasync of {@code file}, written through {@code channel}: its bytes (and with
     * {@code metaData} its size and times) are on disk when this returns.
     */
    void force(Path file, FileChannel channel, boolean metaData) throws IOException;

    /** The fsync of a temporary {@link DurableFiles#replace} wrote, before its rename. */
    @Override
    default void force(Path file, FileChannel channel) throws IOException {
        force(file, channel, true);
    }

    /**
     * msync of bytes {@code [offset, offset + length)} of {@code file}, whose mapping from its first byte is
     * {@code mapping}: the pages holding them are on disk when this returns.
     */
    void force(Path file, MemorySegment mapping, long offset, long length);

    /** msync of rows {@code [fromRow, toRow)} of the store's matrix ({@link WritableStore#force}). */
    void forceRows(WritableStore store, long fromRow, long toRow);

    /** fsync of a directory: the renames and creations in it are on disk when this returns. */
    @Override
    void forceDirectory(Path dir) throws IOException;

    /** Forces, and nothing else. */
    Durability SYSTEM = new Durability() {
        @Override
        public void force(Path file, FileChannel channel, boolean metaData) throws IOException {
            channel.force(metaData);
        }

        @Override
        public void force(Path file, MemorySegment mapping, long offset, long length) {
            // A slice forces the pages it overlaps: the JDK rounds the start down to a page.
            mapping.asSlice(offset, length).force();
        }

        @Override
        public void forceRows(WritableStore store, long fromRow, long toRow) {
            store.force(fromRow, toRow);
        }

        @Override
        public void forceDirectory(Path dir) throws IOException {
            DurableFiles.forceDirectory(dir);
        }
    };
}
