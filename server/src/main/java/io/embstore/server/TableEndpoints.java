package io.embstore.server;

import com.fasterxml.jackson.core.JsonGenerator;
import io.embstore.store.EmbeddingStore;
import io.embstore.store.Neighbor;
import io.embstore.store.ReadMode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The answers of lookup and similar, computed from a table's store (docs/SERVER.md). */
final class TableEndpoints {
    /**
     * Most floats one lookup answers: 2^28 (a 1 GiB .npy body). Beyond it a body would not fit a Java array (JSON
     * needs up to about 16 bytes a float, so its bound is lower, 2^26).
     */
    static final long MAX_NPY_FLOATS = 1L << 28;
    static final long MAX_JSON_FLOATS = 1L << 26;

    private TableEndpoints() {
    }

    /** What a lookup found: the rows gathered into {@code values} (a heap segment), and the missing positions. */
    record Gathered(int count, int dim, long generation, int[] missing) {
    }

    /**
     * Resolves the words or ids of {@code request} to rows, checks them, and gathers them consistently into
     * {@code dst} at row {@code i * dim} for position {@code i}; missing words' rows are zeroed.
     */
    static Gathered gather(ServedTable table, EmbeddingStore s, RequestJson.Lookup request, MemorySegment dst) {
        int n = request.size();
        int dim = s.dim();
        long generation = s.generation();
        long[] rows;
        if (request.words() != null) {
            if (!s.hasVocabulary()) {
                throw ApiException.badRequest("table '" + table.name()
                        + "' has no vocabulary (an id-indexed table): look rows up by \"ids\"");
            }
            rows = new long[n];
            s.rowsOf(request.words(), n, rows);
        } else {
            rows = request.ids();
            long count = s.rows();
            for (int i = 0; i < n; i++) {
                if (rows[i] < 0 || rows[i] >= count) {
                    throw ApiException.badRequest("ids[" + i + "] = " + rows[i] + " is out of range: table '"
                            + table.name() + "' has " + count + " rows (ids 0 to " + (count - 1) + ")");
                }
            }
        }
        int missingCount = 0;
        for (long r : rows) {
            if (r < 0) {
                missingCount++;
            }
        }
        long rowBytes = (long) dim * Float.BYTES;
        if (missingCount == 0) {
            s.gather(rows, dst, ReadMode.CONSISTENT);
            return new Gathered(n, dim, generation, new int[0]);
        }
        int[] missing = new int[missingCount];
        int m = 0;
        // Runs of found words are gathered in one call each.
        for (int i = 0; i < n; ) {
            if (rows[i] < 0) {
                // dst may be a reused buffer holding an earlier answer: a missing word's row is zeroed here.
                dst.asSlice(i * rowBytes, rowBytes).fill((byte) 0);
                missing[m++] = i++;
                continue;
            }
            int end = i;
            while (end < n && rows[end] >= 0) {
                end++;
            }
            s.gather(Arrays.copyOfRange(rows, i, end), dst.asSlice(i * rowBytes, (end - i) * rowBytes), ReadMode.CONSISTENT);
            i = end;
        }
        return new Gathered(n, dim, generation, missing);
    }

    /** The answer size check before anything is allocated. */
    static void checkAnswerSize(String table, int n, int dim, boolean npy) {
        long floats = (long) n * dim;
        long max = npy ? MAX_NPY_FLOATS : MAX_JSON_FLOATS;
        if (floats > max) {
            throw ApiException.tooLarge("the answer would hold " + floats + " values (" + n + " rows of table '" + table
                    + "' x " + dim + "), more than " + max + " in one " + (npy ? ".npy" : "JSON")
                    + " answer: ask for fewer rows per request");
        }
    }

    static byte[] npyHeader(long rows, int dim) {
        String order = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "<" : ">";
        StringBuilder dict = new StringBuilder("{'descr': '").append(order)
                .append("f4', 'fortran_order': False, 'shape': (").append(rows).append(", ").append(dim).append("), }");
        int unpadded = 10 + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        dict.append(" ".repeat(total - unpadded)).append('\n');
        byte[] header = new byte[total];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
        System.arraycopy(magic, 0, header, 0, magic.length);
        int len = total - 10;
        header[8] = (byte) len;
        header[9] = (byte) (len >>> 8);
        byte[] text = dict.toString().getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, header, 10, text.length);
        return header;
    }

    /** The JSON answer: {@code {"dim":D,"vectors":[[...],null,...],"missing":[...]}}. */
    static Gathered json(ServedTable table, EmbeddingStore s, RequestJson.Lookup request, JsonGenerator json)
            throws IOException {
        int n = request.size();
        int dim = s.dim();
        checkAnswerSize(table.name(), n, dim, false);
        float[] values = new float[Math.toIntExact((long) n * dim)];
        Gathered g = gather(table, s, request, MemorySegment.ofArray(values));
        json.writeStartObject();
        json.writeNumberField("dim", dim);
        json.writeArrayFieldStart("vectors");
        int nextMissing = 0;
        for (int i = 0; i < n; i++) {
            if (nextMissing < g.missing().length && g.missing()[nextMissing] == i) {
                nextMissing++;
                json.writeNull();
                continue;
            }
            json.writeStartArray();
            for (int j = i * dim, end = j + dim; j < end; j++) {
                // Jackson writes Float.toString, Java's shortest decimal that reads back as the same float (as
                // `embstore get --json` prints), and NaN or an infinity as a quoted string.
                json.writeNumber(values[j]);
            }
            json.writeEndArray();
        }
        json.writeEndArray();
        json.writeArrayFieldStart("missing");
        for (int p : g.missing()) {
            json.writeNumber(p);
        }
        json.writeEndArray();
        json.writeEndObject();
        return g;
    }

    /** The neighbours of a similar query, as {@code embstore similar --json} prints each. */
    static void similar(ServedTable table, EmbeddingStore s, RequestJson.Similar request, JsonGenerator json)
            throws IOException {
        boolean needsVocabulary = request.word() != null || !request.exclude().isEmpty();
        if (needsVocabulary && !s.hasVocabulary()) {
            throw ApiException.badRequest("table '" + table.name() + "' has no vocabulary (an id-indexed table): query"
                    + " it by \"vector\", without \"exclude\"");
        }
        List<Neighbor> neighbors;
        if (request.word() != null) {
            long row = s.rowOf(request.word());
            if (row < 0) {
                throw ApiException.notFound("'" + RequestJson.abbreviate(request.word())
                        + "' is not in the vocabulary of table '" + table.name() + "'");
            }
            try {
                if (request.exclude().isEmpty()) {
                    neighbors = s.mostSimilar(request.word(), request.k());
                } else {
                    float[] vector = new float[s.dim()];
                    s.read(row, vector);
                    Set<String> exclude = new HashSet<>(request.exclude());
                    exclude.add(request.word());
                    neighbors = s.mostSimilar(vector, request.k(), exclude);
                }
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest(e.getMessage());
            }
        } else {
            float[] vector = request.vector();
            if (vector.length != s.dim()) {
                throw ApiException.badRequest("\"vector\" has " + vector.length + " values; table '" + table.name()
                        + "' has dim " + s.dim());
            }
            try {
                neighbors = s.mostSimilar(vector, request.k(), Set.copyOf(request.exclude()));
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("\"vector\": " + e.getMessage());
            }
        }
        json.writeStartObject();
        json.writeArrayFieldStart("neighbors");
        for (Neighbor nb : neighbors) {
            json.writeStartObject();
            json.writeNumberField("row", nb.row());
            if (nb.word() != null) {
                json.writeStringField("word", nb.word());
            }
            json.writeNumberField("similarity", nb.similarity());
            json.writeEndObject();
        }
        json.writeEndArray();
        json.writeEndObject();
    }
}
