package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;

import io.embstore.store.EmbeddingStore;
import io.embstore.store.WritableStore;
import io.embstore.store.StoreException;
import io.embstore.classifier.ClassifierException;
import io.embstore.formats.InputException;
import io.embstore.formats.OutputException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ErrorReporterTest {
    @TempDir
    Path tmp;

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

    /** The libraries' own exceptions: their kind, not an exit code they carry, gives the status; one line each. */
    @Test
    void theLibrariesExceptionKindsMapToTheStatusesTheCliAlwaysGave() {
        Path out = tmp.resolve("nowhere").resolve("x.vec");
        assertEquals("embstore get: " + out + ": the parent directory does not exist\n",
                report(new OutputException(OutputException.Kind.NOT_FOUND, out,
                        out + ": the parent directory does not exist"), ExitCode.NOT_FOUND));
        assertEquals("embstore get: x.vec: is a directory\n",
                report(new OutputException(OutputException.Kind.REFUSED, Path.of("x.vec"), "x.vec: is a directory"),
                        ExitCode.USER_ERROR));
        assertEquals("embstore get: m: no such model directory\n",
                report(new ClassifierException(ClassifierException.Kind.NOT_FOUND, "m: no such model directory"),
                        ExitCode.NOT_FOUND));
        // Wrapping a store's error does not turn it into the store's status: the library's message and kind stand.
        StoreException missingStore = org.junit.jupiter.api.Assertions.assertThrows(StoreException.class,
                () -> EmbeddingStore.open(tmp.resolve("gone")));
        assertEquals("embstore get: m: the model's embedding table is damaged: bad\n",
                report(new ClassifierException(ClassifierException.Kind.INVALID,
                        "m: the model's embedding table is damaged: bad", missingStore), ExitCode.USER_ERROR));
    }

    /**
     * A store's error gets its status from its kind alone (NOT_FOUND 3, any other 1), not from whether the path it
     * names happens to exist when the error is reported: a file that vanished from an existing store is not found, an
     * I/O failure about a path that is not there (yet) is not.
     */
    @Test
    void aStoresErrorGetsItsStatusFromItsKindNotFromTheFileSystem() throws java.io.IOException {
        Path present = java.nio.file.Files.createDirectory(tmp.resolve("present"));
        Path absent = tmp.resolve("absent");
        assertEquals("embstore get: " + present + ": missing file\n",
                report(new StoreException(StoreException.Kind.NOT_FOUND, present, "missing file"), ExitCode.NOT_FOUND));
        assertEquals("embstore get: " + absent + ": cannot read\n",
                report(new StoreException(StoreException.Kind.IO, absent, "cannot read"), ExitCode.USER_ERROR));
        for (StoreException.Kind kind : new StoreException.Kind[] {
                StoreException.Kind.CORRUPT, StoreException.Kind.LOCKED, StoreException.Kind.NO_SPACE}) {
            report(new StoreException(kind, absent, "x"), ExitCode.USER_ERROR);
        }
        // Inside another exception (a task's failure), the same.
        report(new RuntimeException(new StoreException(StoreException.Kind.NOT_FOUND, present, "gone")),
                ExitCode.NOT_FOUND);
    }

    /** EACCES, as the JDK reports it: bad input (exit 1), not a bug with a trace. */
    @Test
    void permissionDeniedIsBadInput() {
        assertEquals("embstore get: /data/ro/x: permission denied\n",
                report(new AccessDeniedException("/data/ro/x"), ExitCode.USER_ERROR));
    }

    /**
     * The store's own error about a path that does not exist because the operating system refused to create it is
     * bad input (exit 1), not "not found" (exit 3). Made for real: the store built in a directory that refuses it
     * (EPERM: the JDK's plain FileSystemException saying "Operation not permitted").
     */
    @Test
    void aStoreThatCouldNotBeCreatedForLackOfPermissionIsBadInput() throws Exception {
        Path ro = CliBadInputTest.unwritable(tmp.resolve("ro"));
        Assumptions.assumeTrue(ro != null, "no way to make a directory unwritable for this user here");
        StoreException refused = null;
        try (WritableStore s = EmbeddingStore.builder(ro.resolve("s")).rows(2).dim(2).vocabulary(false).create()) {
            throw new AssertionError("created a store in an unwritable directory: " + s.path());
        } catch (StoreException e) {
            refused = e;
        } finally {
            CliBadInputTest.writable(ro);
        }
        String err = report(refused, ExitCode.USER_ERROR);
        assertTrue(err.startsWith("embstore get: " + ro.resolve("s").toAbsolutePath() + ": "), err);
        assertEquals(1, err.split("\n").length, err);
    }

    /** Messages quoting a binary file's bytes are escaped for the terminal and cut to a sane length. */
    @Test
    void inputExcerptsAreEscapedAndCut() throws java.io.IOException {
        Path in = java.nio.file.Files.writeString(tmp.resolve("in.txt"), "x 1\n");
        String junk = "\u0000\u001b[2J\u202e".repeat(5000);
        InputException e = InputException.atLine(in, 2, "the value '" + junk + "' is not a number");
        String m = e.getMessage();
        assertTrue(m.startsWith(in + ": line 2: the value '\\x00\\x1b[2J\\u202e\\x00"), m);
        assertTrue(m.endsWith("\\x1b[2J\\u202e' is not a number"), m);
        assertTrue(m.length() < 400, m.length() + " characters");
        assertTrue(m.chars().allMatch(c -> c >= 0x20 && c < 0x7f), m);
        assertEquals("embstore get: " + m + "\n", report(e, ExitCode.USER_ERROR));
    }
}
