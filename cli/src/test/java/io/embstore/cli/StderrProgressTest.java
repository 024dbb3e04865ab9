package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.embstore.testkit.JavaChild;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The progress bars draw on standard error only when standard error is a terminal, whatever standard input and output
 * are. Run for real under a pseudo-terminal: util-linux {@code script} runs a shell command on a pty and copies what
 * reaches the pty to its own output, so a redirection in the command decides which stream is the terminal.
 */
class StderrProgressTest {
    @TempDir
    Path tmp;

    private Path vectors;
    private Path train;

    @BeforeEach
    void requireScriptAndData() throws IOException {
        if (!onPath("script")) {
            if ("true".equals(System.getenv("CI"))) {
                fail("util-linux 'script' is needed to run the progress bar under a terminal (apt-get install util-linux)");
            }
            Assumptions.abort("util-linux 'script' is not installed: the pty tests cannot run here");
        }
        vectors = tmp.resolve("in.txt");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            s.append("w").append(i).append(" 0.5 -0.25 ").append(i).append('\n');
        }
        Files.writeString(vectors, s);
        train = tmp.resolve("train.txt");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add(i % 2 == 0 ? "__label__pos good fine " + i : "__label__neg bad poor " + i);
        }
        Files.write(train, lines);
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Runs {@code embstore ARGS REDIRECTION} in a fresh JVM on a pty; returns what reached the pty. */
    private String onTerminal(String redirection, String... args) throws IOException, InterruptedException {
        StringBuilder command = new StringBuilder();
        for (String a : JavaChild.of(EmbstoreCli.class, args).jvm().command()) {
            command.append(quote(a)).append(' ');
        }
        command.append(redirection);
        Process p = new ProcessBuilder("script", "-qec", command.toString(), "/dev/null")
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true)
                .start();
        String pty = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished");
        assertEquals(0, p.exitValue(), pty);
        return pty;
    }

    /** A frame of the bar: a carriage return, the task, a percentage or count, and a bracketed bar. */
    private static boolean hasBar(String text, String task) {
        return text.contains("\r" + task + " ") && text.contains("[");
    }

    @Test
    void standardErrorToAFileGetsNoBarUnderATerminal() throws Exception {
        Path err = tmp.resolve("err.log");
        String pty = onTerminal("2>" + quote(err.toString()), "convert", vectors.toString(), tmp.resolve("s").toString());
        assertTrue(pty.contains("converted "), "the summary goes to the terminal: " + pty);
        assertEquals("", Files.readString(err), "no bar frames in the redirected standard error");

        Path trainErr = tmp.resolve("train-err.log");
        onTerminal("2>" + quote(trainErr.toString()), "train-classifier", "--train", train.toString(), "--model",
                tmp.resolve("m").toString());
        assertEquals("", Files.readString(trainErr), "no bar frames in the redirected standard error");
    }

    @Test
    void standardErrorOnATerminalGetsTheBarWhereverStandardOutputGoes() throws Exception {
        Path out = tmp.resolve("out.txt");
        String pty = onTerminal(">" + quote(out.toString()), "convert", vectors.toString(), tmp.resolve("s").toString());
        assertTrue(hasBar(pty, "convert"), "a bar on the terminal: " + pty);
        assertTrue(Files.readString(out).startsWith("converted "), Files.readString(out));
        assertFalse(Files.readString(out).contains("\r"), "no bar in standard output");

        String trained = onTerminal(">" + quote(tmp.resolve("train-out.txt").toString()), "train-classifier", "--train",
                train.toString(), "--model", tmp.resolve("m").toString());
        assertTrue(hasBar(trained, "train"), "a bar on the terminal: " + trained);

        String quiet = onTerminal(">" + quote(tmp.resolve("q.txt").toString()), "convert", vectors.toString(),
                tmp.resolve("s2").toString(), "--quiet");
        assertEquals("", quiet, "--quiet draws nothing");
    }

    /**
     * An export's bar ends at 100% whatever the output's size or compression (it counts rows, whose total is known), and
     * small sizes are not shown as {@code 0/0 MB}.
     */
    @Test
    void theExportBarEndsAtAHundredPercentAndSmallSizesAreNotZeroMegabytes() throws Exception {
        Path store = tmp.resolve("s");
        onTerminal(">/dev/null", "convert", vectors.toString(), store.toString(), "--quiet");
        for (String name : List.of("out.vec.gz", "out.vec")) {
            Path report = tmp.resolve(name + ".report");
            String pty = onTerminal(">" + quote(report.toString()), "export", store.toString(),
                    tmp.resolve(name).toString());
            assertTrue(hasBar(pty, "export"), "a bar on the terminal: " + pty);
            String[] frames = pty.split("\r");
            String last = "";
            for (String f : frames) {
                if (f.startsWith("export ")) {
                    last = f;
                }
            }
            assertTrue(last.contains("100%"), name + ": the last frame is at 100%: " + last);
            assertFalse(pty.contains("0/0 MB") || pty.contains(" 0 MB/s") || pty.contains("0.0 MB/s"),
                    name + ": no zero megabytes: " + pty);
            String summary = Files.readString(report);
            assertFalse(summary.contains("(0 MB/s)"), summary);
        }
    }

    /** The index bar counts rows and ends at 100% (every row inserted once). */
    @Test
    void theIndexBarCountsRowsToAHundredPercent() throws Exception {
        Path store = tmp.resolve("s");
        onTerminal(">/dev/null", "convert", vectors.toString(), store.toString(), "--quiet");
        Path report = tmp.resolve("index.report");
        String pty = onTerminal(">" + quote(report.toString()), "index", store.toString(), "--threads", "1");
        assertTrue(hasBar(pty, "index"), "a bar on the terminal: " + pty);
        String last = "";
        for (String f : pty.split("\r")) {
            if (f.startsWith("index ")) {
                last = f;
            }
        }
        assertTrue(last.contains("100%") && last.contains("2000/2000 rows"), "the last frame: " + last);
        assertTrue(Files.readString(report).startsWith("indexed "), Files.readString(report));
    }
}
