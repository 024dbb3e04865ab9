package io.embstore.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ErrorReporterTest {

    private static String report(Exception e, int expectedStatus) {
        StringWriter err = new StringWriter();
        CommandLine cl = EmbstoreCli.createCommandLine(new PrintWriter(new StringWriter()), new PrintWriter(err));
        CommandLine get = cl.getSubcommands().get("get");
        assertEquals(expectedStatus, new ErrorReporter().handleExecutionException(e, get, null));
        return err.toString();
    }

    @Test
    void aBugPrintsItsTraceAndExitsWithTheInternalStatus() {
        String err = report(new NullPointerException("boom"), ExitCode.INTERNAL_ERROR);
        assertTrue(err.startsWith("embstore get: internal error, please report it with this trace:\n"
                + "java.lang.NullPointerException: boom\n\tat "), err);
    }

    @Test
    void userErrorsAreOneLineWithTheirStatus() {
        assertEquals("embstore get: x: gone\n", report(new UserError(ExitCode.NOT_FOUND, "x: gone"), ExitCode.NOT_FOUND));
        assertEquals("embstore get: bad value on two lines\n",
                report(new IllegalArgumentException("bad value\n  on two lines"), ExitCode.USER_ERROR));
    }
}
