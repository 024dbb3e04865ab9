package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class EmbstoreCliTest {

    @ParameterizedTest
    @ValueSource(strings = {"", "create", "info", "get", "demo"})
    void everyCommandHasHelpAndVersion(String command) {
        String[] help = command.isEmpty() ? new String[] {"--help"} : new String[] {command, "--help"};
        CliRun run = CliRun.of(help);
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertTrue(run.out().startsWith("Usage: embstore"), run.out());
        assertTrue(run.out().contains("Exit codes:"), run.out());
        assertEquals("", run.err());

        String[] version = command.isEmpty() ? new String[] {"--version"} : new String[] {command, "--version"};
        CliRun v = CliRun.of(version);
        assertEquals(ExitCode.OK, v.status(), v::toString);
        assertTrue(v.out().startsWith("embstore "), v.out());
    }

    @Test
    void helpCommandShowsACommandsUsage() {
        CliRun run = CliRun.of("help", "get");
        assertEquals(ExitCode.OK, run.status(), run::toString);
        assertTrue(run.out().startsWith("Usage: embstore get"), run.out());
    }

    @Test
    void theDemoReaderIsHiddenFromTheCommandList() {
        String out = CliRun.of("--help").out();
        assertTrue(out.contains("  demo "), out);
        assertTrue(!out.contains("demo-reader"), out);
    }

    @Test
    void noCommandPrintsUsageAndFails() {
        CliRun run = CliRun.of();
        assertEquals(ExitCode.USAGE, run.status());
        assertTrue(run.err().startsWith("embstore: a command is required\nUsage: embstore"), run.err());
    }

    @Test
    void unknownCommandOrOptionIsOneLine() {
        CliRun command = CliRun.of("frobnicate", "x");
        assertEquals(ExitCode.USAGE, command.status());
        assertArrayEquals(new String[] {"embstore: unknown command 'frobnicate': expected one of convert, export, create, info, get, verify, index, similar, analogy, similarity, evaluate, serve, publish, replicate, train-classifier, test-classifier, predict, compact-classifier, demo, help"
                + " (see 'embstore --help')"}, command.errLines());
        CliRun option = CliRun.of("info", "--jsno", "x");
        assertEquals(ExitCode.USAGE, option.status());
        assertArrayEquals(new String[] {"embstore info: Unknown option: '--jsno' (see 'embstore info --help')"},
                option.errLines());
    }
    @Test
    void aRunOfOneCommandBuildsThatCommandAloneAndEverythingElseTheWholeTree() {
        PrintWriter sink = new PrintWriter(new StringWriter());
        Set<String> all = EmbstoreCli.createCommandLine(sink, sink).getSubcommands().keySet();
        assertEquals(EmbstoreCommand.SUBCOMMANDS.size(), all.size());
        assertEquals(Set.of("info"),
                EmbstoreCli.createCommandLine(sink, sink, new String[] {"info", "x"}).getSubcommands().keySet());
        for (String[] args : new String[][] {{}, {"--help"}, {"help", "info"}, {"conver", "x"}}) {
            assertEquals(all, EmbstoreCli.createCommandLine(sink, sink, args).getSubcommands().keySet(),
                    String.join(" ", args));
        }
        // a misspelt command still gets picocli's suggestion, which needs every command's name
        StringWriter err = new StringWriter();
        int status = EmbstoreCli.createCommandLine(sink, new PrintWriter(err), new String[] {"conver"})
                .execute("conver");
        assertEquals(ExitCode.USAGE, status);
        assertTrue(err.toString().contains("convert"), err.toString());
    }
}
