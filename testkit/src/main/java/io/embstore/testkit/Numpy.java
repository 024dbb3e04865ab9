package io.embstore.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Runs a Python script with NumPy in a real {@code python3} process, for tests that compare with NumPy. Such a test
 * starts with {@link #require}: skipped where python3 or NumPy is missing, failed instead when CI is true.
 */
public final class Numpy {
    private Numpy() {
    }

    /** Why python3 with NumPy cannot run here, or null when it can. */
    public static String unavailable() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "python3 -c 'import numpy' did not finish within 60 s";
            }
            return p.exitValue() == 0 ? null : "python3 cannot import numpy: " + out.strip();
        } catch (IOException e) {
            return "python3 is not on the PATH: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while looking for python3";
        }
    }

    /**
     * Skips the calling test (or class, from a {@code @BeforeAll}) when python3 with NumPy cannot run here, saying
     * why; fails instead when the environment variable CI is "true", where {@code what} must be tested.
     */
    public static void require(String what) {
        String problem = unavailable();
        if (problem != null) {
            if ("true".equals(System.getenv("CI"))) {
                fail(problem + " (CI=true: " + what + " must be tested in CI; install python3 and numpy)");
            }
            Assumptions.abort(problem + ": skipping " + what + " (it fails instead when CI=true)");
        }
    }

    /** Runs {@code script} with {@code input} on its standard input; returns its output lines. */
    public static List<String> run(String script, String input) throws IOException, InterruptedException {
        Path err = Files.createTempFile("numpy", ".stderr");
        try {
            Process p = new ProcessBuilder("python3", "-c", script).redirectError(err.toFile()).start();
            try {
                // A thread feeds the input so that a large output cannot block both sides.
                Thread feeder = Thread.ofVirtual().start(() -> {
                    try (OutputStream in = p.getOutputStream()) {
                        in.write(input.getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException ignored) {
                        // The process died: its exit code and stderr say why.
                    }
                });
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    throw new AssertionError("python3 did not finish within 120 s");
                }
                feeder.join();
                if (p.exitValue() != 0) {
                    throw new AssertionError("python3 exited with " + p.exitValue() + ":\n" + Files.readString(err));
                }
                return out.lines().toList();
            } finally {
                p.destroyForcibly();
            }
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
