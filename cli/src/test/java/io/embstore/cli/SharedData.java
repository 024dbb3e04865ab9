package io.embstore.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The real files made by other tools in {@code ../shared/data}. Tests that read them skip with a message when the
 * folder is absent (a clone on its own), except under CI ({@code CI=true}), where a missing folder fails them.
 */
final class SharedData {
    private SharedData() {
    }

    static Path file(String name) {
        Path dir = locate();
        String message = "../shared/data is not beside this repository (looked for " + dir + "): skipping a test on real files";
        if ("true".equals(System.getenv("CI"))) {
            if (!Files.isDirectory(dir)) {
                throw new AssertionError(message + " -- but CI must never skip it");
            }
        } else {
            Assumptions.assumeTrue(Files.isDirectory(dir), message);
        }
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new AssertionError("missing " + file);
        }
        return file;
    }

    private static Path locate() {
        // Surefire runs in the module directory (cli/); the repository root is its parent.
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("store"))) {
                return p.getParent().resolve("shared").resolve("data");
            }
        }
        return here.getParent().getParent().resolve("shared").resolve("data");
    }
}
