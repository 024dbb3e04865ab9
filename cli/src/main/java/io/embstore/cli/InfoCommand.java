package io.embstore.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import io.embstore.store.Dtype;
import io.embstore.store.EmbeddingStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code embstore info}: what a store holds and what its files weigh. */
@Command(name = "info",
        sortOptions = false,
        description = {
                "Describe a store.",
                "",
                "Prints a store's path, shape, dtype, vocabulary, padding row, generation (the writer's publication"
                        + " counter), damaged rows (rows whose write did not complete: reads of them fail until they are"
                        + " rewritten), its approximate-neighbour index (the generation it was built at and the rows"
                        + " changed since), whether its files are larger than the machine's memory (then rows are read"
                        + " from the disk) and the size of each of its files. Opens the store read-only: it works while a"
                        + " writer is using it."},
        descriptionHeading = "%n",
        footerHeading = "%nExamples:%n",
        footer = {"  embstore info glove", "  embstore info glove --json"})
final class InfoCommand extends BaseCommand {
    @Mixin
    StoreParameter store;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = store.open()) {
            Path path = table.path().toAbsolutePath().normalize();
            long generation = table.generation();
            long[] damaged = table.damagedRows();
            AnnIndexStatus ann = AnnIndexStatus.of(table);
            Map<String, Long> files = fileSizes(path);
            long total = files.values().stream().mapToLong(Long::longValue).sum();
            java.util.OptionalLong memory = io.embstore.store.io.PhysicalMemory.total();
            if (json.json) {
                StringBuilder b = new StringBuilder("{");
                b.append("\"path\":").append(JsonText.string(path.toString()));
                b.append(",\"rows\":").append(table.rows());
                b.append(",\"dim\":").append(table.dim());
                b.append(",\"dtype\":").append(JsonText.string(table.dtype().label()));
                b.append(",\"row_bytes\":").append(table.dtype().rowBytes(table.dim()));
                b.append(",\"vocabulary\":").append(table.hasVocabulary());
                b.append(",\"padding_index\":").append(table.paddingIndex() >= 0 ? Long.toString(table.paddingIndex()) : "null");
                table.subwords().ifPresent(s -> b.append(",\"subwords\":{\"minn\":").append(s.layout().minn())
                        .append(",\"maxn\":").append(s.layout().maxn()).append(",\"buckets\":").append(s.layout().buckets())
                        .append(",\"word_rows\":").append(s.layout().wordRows()).append('}'));
                b.append(",\"generation\":").append(generation);
                b.append(",\"damaged_rows\":").append(damaged.length);
                b.append(",\"ann_index\":").append(ann.json());
                b.append(",\"files\":{");
                String sep = "";
                for (Map.Entry<String, Long> f : files.entrySet()) {
                    b.append(sep).append(JsonText.string(f.getKey())).append(':').append(f.getValue());
                    sep = ",";
                }
                b.append("},\"total_bytes\":").append(total);
                b.append(",\"memory_bytes\":").append(memory.isPresent() ? Long.toString(memory.getAsLong()) : "null");
                b.append(",\"larger_than_memory\":").append(memory.isPresent() ? Boolean.toString(total > memory.getAsLong()) : "null");
                b.append('}');
                out.println(b);
            } else {
                out.printf("path        %s%n", path);
                out.printf("rows        %d%n", table.rows());
                out.printf("dim         %d%n", table.dim());
                out.printf("dtype       %s (%s)%n", table.dtype().label(), dtypeDetail(table));
                out.printf("vocabulary  %s%n", table.hasVocabulary() ? "yes" : "no");
                out.printf("padding     %s%n", padding(table));
                table.subwords().ifPresent(s -> out.printf(Locale.ROOT, "subwords    %,d n-gram buckets (%d to %d"
                        + " characters) after %,d word rows: absent words answered from them%n", s.layout().buckets(),
                        s.layout().minn(), s.layout().maxn(), s.layout().wordRows()));
                out.printf("generation  %d%n", generation);
                out.printf("damaged     %s%n", damaged(damaged));
                out.printf("ann index   %s%n", ann.text());
                out.printf("memory      %s%n", MachineMemory.describe(total, memory));
                out.printf("files       %d, %s in all%n", files.size(), humanBytes(total));
                int width = files.keySet().stream().mapToInt(String::length).max().orElse(0);
                for (Map.Entry<String, Long> f : files.entrySet()) {
                    out.printf("  %-" + width + "s  %12d bytes%n", f.getKey(), f.getValue());
                }
            }
        }
        return ExitCode.OK;
    }

    private static String damaged(long[] rows) {
        if (rows.length == 0) {
            return "0 rows";
        }
        StringBuilder b = new StringBuilder().append(rows.length).append(rows.length == 1 ? " row (" : " rows (");
        for (int i = 0; i < Math.min(rows.length, 10); i++) {
            b.append(i == 0 ? "" : ", ").append(rows[i]);
        }
        return b.append(rows.length > 10 ? ", ...)" : ")")
                .append(": their writes did not complete; rewrite them (embstore verify lists them)").toString();
    }

    private static String padding(EmbeddingStore table) {
        long row = table.paddingIndex();
        if (row < 0) {
            return "none";
        }
        return table.hasVocabulary() ? "row " + row + " ('" + table.word(row) + "')" : "row " + row;
    }

    /** Every regular file under the store, by path relative to it ('/'-separated), in name order. */
    private static Map<String, Long> fileSizes(Path dir) {
        Map<String, Long> sizes = new TreeMap<>();
        try {
            // A walk does not enter a symbolic link, not even the one it starts at: walk the directory it names.
            Path real = dir.toRealPath();
            try (Stream<Path> paths = Files.walk(real)) {
                paths.filter(Files::isRegularFile).forEach(p -> {
                    try {
                        sizes.put(real.relativize(p).toString().replace('\\', '/'), Files.size(p));
                    } catch (NoSuchFileException e) {
                        // A writer's temporary file, renamed away while we walked: not part of the store.
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        } catch (IOException | UncheckedIOException e) {
            throw new UserError(ExitCode.USER_ERROR, dir + ": cannot list the store's files (" + e.getMessage() + ")", e);
        }
        return sizes;
    }

    static String humanBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** {@code 4 bytes a value}, or for a quantized store its row size and what a read gives. */
    static String dtypeDetail(EmbeddingStore table) {
        Dtype d = table.dtype();
        if (!d.quantized()) {
            return d.bytes() + " bytes a value";
        }
        return "row-wise quantized, " + d.rowBytes(table.dim()) + " bytes a row, read as float32";
    }
}
