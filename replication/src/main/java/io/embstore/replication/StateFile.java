package io.embstore.replication;

import io.embstore.store.io.DurableFiles;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A small {@code key=value} text file replaced atomically as a whole (temporary sibling, force, rename, force the
 * directory): the publisher's and the replica's record of their progress. A reader never sees it half written.
 */
final class StateFile {
    private StateFile() {
    }

    /** The file's entries, or null if there is none. */
    static Map<String, String> read(Path file) {
        try {
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(file)));
            Map<String, String> out = new TreeMap<>();
            p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k)));
            return out;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | IllegalArgumentException e) {
            throw new ReplicationException(file + ": cannot read the state file: " + e.getMessage(), e);
        }
    }

    static void write(Path file, String heading, Map<String, ?> entries) {
        StringBuilder b = new StringBuilder("# ").append(heading).append('\n');
        entries.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        try {
            DurableFiles.replace(file, b.toString());
        } catch (IOException e) {
            throw new ReplicationException(file + ": cannot write the state file: " + e.getMessage(), e);
        }
    }

    static long number(Map<String, String> state, String key, Path file) {
        String v = state.get(key);
        try {
            return Long.parseLong(v == null ? "" : v.strip());
        } catch (NumberFormatException e) {
            throw new ReplicationException(file + ": state file has no number for '" + key + "' (" + v + ")");
        }
    }
}
