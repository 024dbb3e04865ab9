package io.embstore.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

class JavaChildTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** Prints its arguments one a line to stdout, "err" to stderr, then blocks on stdin if asked, exits with 3 if asked. */
    static final class Echo {
        public static void main(String[] args) throws Exception {
            for (String a : args) {
                if (a.equals("wait")) {
                    System.out.flush();
                    System.in.read();
                } else if (a.equals("exit3")) {
                    System.exit(3);
                } else {
                    System.out.println(a);
                }
            }
            System.err.println("err");
        }
    }

    @Test
    void runReturnsStandardOutputAndKeepsStandardErrorApart() throws Exception {
        assertEquals("a\nb c", JavaChild.of(Echo.class, "a", "b c").run(TIMEOUT));
        assertEquals("a\nerr", JavaChild.of(Echo.class, "a").mergeStderr().run(TIMEOUT));
    }

    @Test
    void runFailsOnANonZeroExitShowingTheOutput() {
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> JavaChild.of(Echo.class, "said", "exit3").name("echo").run(TIMEOUT));
        assertTrue(e.getMessage().contains("echo failed") && e.getMessage().contains("exit 3")
                && e.getMessage().contains("said"), e.getMessage());
    }

    @Test
    void linesArriveWhileTheChildRunsAndKillStopsIt() throws Exception {
        try (JavaChild c = JavaChild.of(Echo.class, "one", "two", "wait", "never").start()) {
            assertEquals("two", c.awaitLine(l -> l.startsWith("t"), TIMEOUT));
            assertThrows(AssertionFailedError.class, () -> c.awaitLine(Duration.ofMillis(200)), "nothing more before stdin");
            assertTrue(c.process().isAlive());
            c.kill();
            assertFalse(c.process().isAlive());
            assertEquals(List.of("one", "two"), c.stdoutLines());
            assertEquals("", c.stderr());
        }
    }

    @Test
    void theCommandIsThisJavaWithNativeAccessTheOptionsAndTheClasspath() {
        List<String> command = JavaChild.of(Echo.class, "x").jvm("-Xmx64m").wrappedIn("env").command();
        assertEquals(List.of("env", JavaChild.java(), "--enable-native-access=ALL-UNNAMED", "-Xmx64m", "-cp",
                JavaChild.classpath(), Echo.class.getName(), "x"), command);
    }
}
