package io.embstore.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * A small tmpfs mounted for one test: a file system that really runs out of space. Needs Linux and root; elsewhere
 * the test is skipped with a message, except under CI ({@code CI=true}), where it fails instead so that it cannot
 * silently stop running. Shared by every module's tests.
 */
public final class SmallTmpfs implements AutoCloseable {
    private final Path dir;

    private SmallTmpfs(Path dir) {
        this.dir = dir;
    }

    /** Mounts a tmpfs of {@code megabytes} on {@code dir} (created if absent). */
    public static SmallTmpfs mount(Path dir, int megabytes) throws IOException, InterruptedException {
        String why = null;
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            why = "not Linux";
        } else if (!Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
            why = "not root";
        }
        Files.createDirectories(dir);
        if (why == null) {
            String out = run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m", "tmpfs", dir.toString());
            if (out != null) {
                why = "mount failed: " + out;
            }
        }
        if (why != null) {
            String message = "needs a small tmpfs (Linux, root) to fill a file system: " + why;
            if ("true".equals(System.getenv("CI"))) {
                fail(message + " (CI=true: not skipped)");
            }
            Assumptions.abort(message);
        }
        return new SmallTmpfs(dir);
    }

    public Path dir() {
        return dir;
    }

    /** Writes {@code file} (on this or any file system) until the file system has no space left. */
    public static void fillUp(Path file) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        try (var out = Files.newOutputStream(file)) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw e;
            }
        }
    }

    /** Unmounts; lazily if something (a mapping a failed test left) still holds it. */
    @Override
    public void close() throws IOException, InterruptedException {
        if (run("umount", dir.toString()) != null) {
            run("umount", "-l", dir.toString());
        }
    }

    /** Runs a command; returns null on success, else its output. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        String out = new String(p.getInputStream().readAllBytes()).strip();
        return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
    }
}
