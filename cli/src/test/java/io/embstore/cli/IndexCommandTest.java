package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code index}, {@code similar --approx}, and what {@code info} and {@code verify} say of the index. */
class IndexCommandTest {
    @TempDir
    static Path tmp;

    static Path store;

    @BeforeAll
    static void convertLee() {
        store = tmp.resolve("lee");
        CliRun run = CliRun.of("convert", SharedData.file("lee_fasttext.vec").toString(), store.toString(), "--quiet");
        assertEquals(0, run.status(), run.toString());
    }

    private Path copy(String name) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectory(dir);
        try (var files = Files.list(store)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    @Test
    void approxWithoutAnIndexIsAOneLineErrorSayingHowToBuildOne() throws IOException {
        Path dir = copy("no-index");
        CliRun run = CliRun.of("similar", dir.toString(), "the", "--approx");
        assertEquals(ExitCode.NOT_FOUND, run.status(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().contains("embstore index " + dir), run.err());
        CliRun info = CliRun.of("info", dir.toString(), "--json");
        assertTrue(info.json().get("ann_index").isNull(), info.out());
        assertTrue(CliRun.of("info", dir.toString()).out().contains("ann index   none"));
        assertTrue(CliRun.of("verify", dir.toString(), "--json").json().get("ann_index").isNull());
    }

    @Test
    void indexThenApproxAnswersLikeTheExactPathAndInfoAndVerifyReportIt() throws IOException {
        Path dir = copy("indexed");
        CliRun index = CliRun.of("index", dir.toString(), "--m", "12", "--beam", "60", "--threads", "2", "--json");
        assertEquals(0, index.status(), index.toString());
        JsonNode built = index.json();
        assertEquals(1762, built.get("rows").asLong());
        assertEquals(12, built.get("m").asInt());
        assertEquals(60, built.get("beam").asInt());
        assertEquals(2, built.get("threads").asInt());
        assertTrue(Files.size(dir.resolve("ann.index")) == built.get("index_bytes").asLong());
        CliRun text = CliRun.of("index", dir.toString(), "--quiet");
        assertEquals(0, text.status(), text.toString());
        assertTrue(text.out().startsWith("indexed " + dir + ": 1,762 rows x "), text.out());
        assertEquals("", text.err(), "no progress bar when standard error is not a terminal");

        // An ef past the row count walks the whole graph: the answer must then be the exact one, printed alike.
        String[] words = {"the", "government", "president"};
        for (boolean json : new boolean[] {true, false}) {
            String[] output = json ? new String[] {"-k", "7", "--json"} : new String[] {"-k", "7"};
            CliRun exact = CliRun.of(args("similar", dir, words, output));
            String[] approxArgs = java.util.Arrays.copyOf(output, output.length + 3);
            approxArgs[output.length] = "--approx";
            approxArgs[output.length + 1] = "--ef";
            approxArgs[output.length + 2] = "5000";
            CliRun approx = CliRun.of(args("similar", dir, words, approxArgs));
            assertEquals(0, approx.status(), approx.toString());
            assertEquals(exact.out(), approx.out());
        }
        CliRun byDefault = CliRun.of("similar", dir.toString(), "the", "-k", "5", "--approx", "--json");
        assertEquals(0, byDefault.status(), byDefault.toString());
        assertEquals(5, byDefault.json().get("the").size());

        JsonNode info = CliRun.of("info", dir.toString(), "--json").json().get("ann_index");
        assertTrue(info.get("ok").asBoolean(), info.toString());
        assertEquals(1762, info.get("rows").asLong());
        assertEquals(32, info.get("m").asInt(), "the second build (default M) replaced the first");
        assertEquals(0, info.get("changed_rows").asLong());
        assertTrue(info.get("built_at_generation").asLong() >= 0);
        assertTrue(CliRun.of("info", dir.toString()).out().contains("ann index   built at generation "));
        CliRun verify = CliRun.of("verify", dir.toString());
        assertEquals(0, verify.status(), verify.toString());
        assertTrue(verify.out().contains("ann index: OK, built at generation"), verify.out());
    }

    @Test
    void aDamagedIndexFailsVerifyAndApproxNamingTheFileAndInfoSaysSo() throws IOException {
        Path dir = copy("damaged");
        assertEquals(0, CliRun.of("index", dir.toString(), "--quiet").status());
        Path file = dir.resolve("ann.index");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            long at = ch.size() - 10;
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x40));
            ch.write(b.flip(), at);
        }
        CliRun verify = CliRun.of("verify", dir.toString(), "--json");
        assertEquals(ExitCode.USER_ERROR, verify.status(), verify.toString());
        assertFalse(verify.json().get("ok").asBoolean());
        assertFalse(verify.json().get("ann_index").get("ok").asBoolean());
        assertTrue(verify.json().get("problems").get(0).asText().startsWith(file + ": checksum mismatch"), verify.out());
        CliRun approx = CliRun.of("similar", dir.toString(), "the", "--approx");
        assertEquals(ExitCode.USER_ERROR, approx.status(), approx.toString());
        assertEquals(1, approx.errLines().length, approx.toString());
        assertTrue(approx.err().contains(file.toString()) && approx.err().contains("rebuild"), approx.err());
        assertTrue(CliRun.of("info", dir.toString()).out().contains("ann index   damaged: " + file), "info still works");
        // Rebuilding replaces the damaged file.
        assertEquals(0, CliRun.of("index", dir.toString(), "--quiet").status());
        assertEquals(0, CliRun.of("verify", dir.toString()).status());
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertEquals(ExitCode.USAGE, CliRun.of("similar", store.toString(), "the", "--ef", "10").status());
        assertEquals(ExitCode.USAGE, CliRun.of("similar", store.toString(), "the", "--approx", "--ef", "0").status());
        CliRun m = CliRun.of("index", store.toString(), "--m", "1");
        assertEquals(ExitCode.USAGE, m.status(), m.toString());
        assertTrue(m.err().contains("--m must be"), m.err());
        assertEquals(ExitCode.USAGE, CliRun.of("index", store.toString(), "--threads", "0").status());
        CliRun help = CliRun.of("index", "--help");
        assertEquals(0, help.status());
        for (String option : new String[] {"--m", "--beam", "--threads", "--quiet", "--json", "ann.index"}) {
            assertTrue(help.out().contains(option), option + " in\n" + help.out());
        }
        assertTrue(CliRun.of("similar", "--help").out().contains("--approx"));
    }

    private static String[] args(String command, Path dir, String[] words, String... rest) {
        String[] all = new String[2 + words.length + rest.length];
        all[0] = command;
        all[1] = dir.toString();
        System.arraycopy(words, 0, all, 2, words.length);
        System.arraycopy(rest, 0, all, 2 + words.length, rest.length);
        return all;
    }
}
