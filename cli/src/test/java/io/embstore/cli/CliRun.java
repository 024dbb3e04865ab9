package io.embstore.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** One in-process run of the {@code embstore} command line: its exit status and what it printed. */
record CliRun(int status, String out, String err) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            status = EmbstoreCli.createCommandLine(o, e).execute(args);
        }
        return new CliRun(status, out.toString(), err.toString());
    }

    /** Standard output parsed as one JSON document (Jackson rejects anything that is not strict JSON). */
    JsonNode json() {
        try {
            return JSON.readTree(out);
        } catch (Exception e) {
            throw new AssertionError("stdout is not JSON: " + out, e);
        }
    }

    /** The lines of standard error. */
    String[] errLines() {
        return err.isEmpty() ? new String[0] : err.split("\\R");
    }

    @Override
    public String toString() {
        return "status " + status + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
