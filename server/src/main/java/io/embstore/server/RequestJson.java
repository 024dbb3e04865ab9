package io.embstore.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The request bodies of lookup and similar, parsed strictly with Jackson's streaming parser: one JSON object with
 * known fields only, no duplicate keys, values of the documented types, nothing after the object. Every refusal is a
 * 400 (or a 413 for a batch over the limit) whose message names the field, the position in an array, or the place in
 * the body.
 */
final class RequestJson {
    /** The largest {@code k} of a similar query. */
    static final int MAX_K = 1000;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // The bodies are flat: an object of arrays of scalars. Deep nesting is an attack, not a request.
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxNumberLength(400).build())
            .build();

    private RequestJson() {
    }

    /** A lookup: exactly one of {@code words} and {@code ids} is non-null. */
    record Lookup(String[] words, long[] ids) {
        int size() {
            return words != null ? words.length : ids.length;
        }
    }

    /** A similar query: exactly one of {@code word} and {@code vector} is non-null. */
    record Similar(String word, float[] vector, int k, List<String> exclude) {
    }

    static Lookup lookup(byte[] body, int length, int maxBatch) {
        requireUtf8(body, length);
        try (JsonParser p = FACTORY.createParser(body, 0, length)) {
            startObject(p);
            String[] words = null;
            long[] ids = null;
            String field;
            while ((field = nextField(p)) != null) {
                switch (field) {
                    case "words" -> words = strings(p, "words", maxBatch);
                    case "ids" -> ids = ids(p, maxBatch);
                    default -> throw unknownField(p, field, "\"words\" or \"ids\"");
                }
            }
            end(p);
            if ((words == null) == (ids == null)) {
                throw ApiException.badRequest("the body must have exactly one of \"words\" and \"ids\"");
            }
            return new Lookup(words, ids);
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (IOException e) {
            throw ApiException.badRequest("unreadable JSON: " + e.getMessage());
        }
    }

    static Similar similar(byte[] body, int length, int maxBatch) {
        requireUtf8(body, length);
        try (JsonParser p = FACTORY.createParser(body, 0, length)) {
            startObject(p);
            String word = null;
            float[] vector = null;
            Integer k = null;
            List<String> exclude = List.of();
            String field;
            while ((field = nextField(p)) != null) {
                switch (field) {
                    case "word" -> {
                        if (p.nextToken() != JsonToken.VALUE_STRING) {
                            throw wrongType(p, "\"word\"", "a string");
                        }
                        word = p.getText();
                    }
                    case "vector" -> vector = floats(p, "vector", maxBatch);
                    case "k" -> k = k(p);
                    case "exclude" -> exclude = Arrays.asList(strings(p, "exclude", maxBatch));
                    default -> throw unknownField(p, field, "\"word\", \"vector\", \"k\" or \"exclude\"");
                }
            }
            end(p);
            if ((word == null) == (vector == null)) {
                throw ApiException.badRequest("the body must have exactly one of \"word\" and \"vector\"");
            }
            return new Similar(word, vector, k == null ? 10 : k, exclude);
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (IOException e) {
            throw ApiException.badRequest("unreadable JSON: " + e.getMessage());
        }
    }

    private static void startObject(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == null) {
            throw ApiException.badRequest("the body is empty: expected a JSON object");
        }
        if (t != JsonToken.START_OBJECT) {
            throw ApiException.badRequest("the body must be a JSON object, found " + describe(t) + at(p));
        }
    }

    /** The next field name of the root object, or null at its end. */
    private static String nextField(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == JsonToken.END_OBJECT) {
            return null;
        }
        // The parser itself refuses anything else inside an object.
        return p.currentName();
    }

    /** Nothing may follow the root object but white space. */
    private static void end(JsonParser p) throws IOException {
        JsonToken t;
        try {
            t = p.nextToken();
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("trailing data after the JSON object" + at(e.getLocation()));
        }
        if (t != null) {
            throw ApiException.badRequest("trailing data after the JSON object" + at(p));
        }
    }

    private static String[] strings(JsonParser p, String field, int max) throws IOException {
        if (p.nextToken() != JsonToken.START_ARRAY) {
            throw wrongType(p, "\"" + field + "\"", "an array of strings");
        }
        List<String> out = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_STRING) {
                throw wrongType(p, field + "[" + out.size() + "]", "a string");
            }
            if (out.size() == max) {
                throw batchTooLarge(field, max);
            }
            out.add(p.getText());
        }
        return out.toArray(String[]::new);
    }

    private static long[] ids(JsonParser p, int max) throws IOException {
        if (p.nextToken() != JsonToken.START_ARRAY) {
            throw wrongType(p, "\"ids\"", "an array of integers");
        }
        long[] ids = new long[16];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String where = "ids[" + n + "]";
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw wrongType(p, where, "an integer (no fraction, no exponent)");
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw ApiException.badRequest(where + " = " + abbreviate(p.getText()) + " is out of range: ids are 64-bit");
            }
            if (n == max) {
                throw batchTooLarge("ids", max);
            }
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, n * 2);
            }
            ids[n++] = p.getLongValue();
        }
        return Arrays.copyOf(ids, n);
    }

    private static float[] floats(JsonParser p, String field, int max) throws IOException {
        if (p.nextToken() != JsonToken.START_ARRAY) {
            throw wrongType(p, "\"" + field + "\"", "an array of numbers");
        }
        float[] values = new float[64];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String where = field + "[" + n + "]";
            if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
                throw wrongType(p, where, "a number");
            }
            if (n == max) {
                throw batchTooLarge(field, max);
            }
            // Parsed from the text, correctly rounded to float32 at once: a float printed by get --json reads back
            // as the same bits (through double it could round twice).
            float v = Float.parseFloat(p.getText());
            if (Float.isInfinite(v)) {
                throw ApiException.badRequest(where + " = " + abbreviate(p.getText()) + " is out of the float32 range");
            }
            if (n == values.length) {
                values = Arrays.copyOf(values, n * 2);
            }
            values[n++] = v;
        }
        return Arrays.copyOf(values, n);
    }

    private static int k(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw wrongType(p, "\"k\"", "an integer from 1 to " + MAX_K);
        }
        if (p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() < 1 || p.getIntValue() > MAX_K) {
            throw ApiException.badRequest("\"k\" must be from 1 to " + MAX_K + ", found " + abbreviate(p.getText()));
        }
        return p.getIntValue();
    }

    private static ApiException batchTooLarge(String field, int max) {
        return ApiException.tooLarge("\"" + field + "\" has more than " + max + " entries (the server's --max-batch)");
    }

    private static ApiException unknownField(JsonParser p, String field, String expected) {
        return ApiException.badRequest("unknown field \"" + abbreviate(field) + "\"" + at(p) + ": expected " + expected);
    }

    private static ApiException wrongType(JsonParser p, String what, String expected) throws IOException {
        return ApiException.badRequest(what + " must be " + expected + ", found " + describe(p.currentToken()) + at(p));
    }

    /**
     * Refuses a body that is not well-formed UTF-8 (RFC 3629). Jackson's parser decodes overlong forms (C0 AF as '/')
     * and encoded surrogates (ED A0 80) without complaint, which would let words no store can hold through.
     */
    static void requireUtf8(byte[] b, int length) {
        for (int i = 0; i < length; ) {
            int c = b[i] & 0xff;
            if (c < 0x80) {
                i++;
                continue;
            }
            int more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
            boolean ok = more > 0 && i + more < length;
            for (int j = 1; ok && j <= more; j++) {
                ok = (b[i + j] & 0xc0) == 0x80;
            }
            if (ok) {
                int second = b[i + 1] & 0xff;
                ok = !(c == 0xe0 && second < 0xa0 || c == 0xed && second > 0x9f || c == 0xf0 && second < 0x90
                        || c == 0xf4 && second > 0x8f);
            }
            if (!ok) {
                throw ApiException.badRequest(String.format("the body is not UTF-8: byte 0x%02x at offset %d", c, i));
            }
            i += more + 1;
        }
    }

    private static ApiException malformed(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        return ApiException.badRequest("malformed JSON" + at(e.getLocation()) + ": "
                + abbreviate(message == null ? "unreadable" : message.strip().replaceAll("\\s*\\R\\s*", " ")));
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "the end of the body";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a number with a fraction or exponent";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String at(JsonParser p) {
        return at(p.currentTokenLocation());
    }

    private static String at(JsonLocation location) {
        if (location == null || location.getByteOffset() < 0) {
            return "";
        }
        return " at byte " + location.getByteOffset();
    }

    /** A value echoed in a message, cut short: a message never grows with a hostile body. */
    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
