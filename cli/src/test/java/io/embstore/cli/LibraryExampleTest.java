package io.embstore.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Use it as a library" section, done as a user would: embstore's jars installed in the local Maven
 * repository, the example project in {@code examples/library} built by Maven against those coordinates, and run with
 * the JVM flags the README gives. The jars are the ones this build just made (installed with install-file rather than
 * a nested {@code mvn install}, which would rebuild them under the running build).
 */
class LibraryExampleTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String INSTALL = "org.apache.maven.plugins:maven-install-plugin:3.1.4:install-file";
    private static final String CLASSPATH = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath";

    @TempDir
    Path tmp;

    @Test
    void theExampleProjectBuildsAgainstTheInstalledJarsAndRunsWithTheDocumentedFlags() throws Exception {
        String version = projectVersion();
        Path store = jar("store", version);
        Path trainer = jar("trainer", version);
        Path formats = jar("formats", version);
        mvn(ROOT, INSTALL, "-Dfile=" + ROOT.resolve("pom.xml"), "-DpomFile=" + ROOT.resolve("pom.xml"));
        mvn(ROOT, INSTALL, "-Dfile=" + store, "-DpomFile=" + ROOT.resolve("store/pom.xml"));
        mvn(ROOT, INSTALL, "-Dfile=" + trainer, "-DpomFile=" + ROOT.resolve("trainer/pom.xml"));
        mvn(ROOT, INSTALL, "-Dfile=" + formats, "-DpomFile=" + ROOT.resolve("formats/pom.xml"));

        Path project = tmp.resolve("library");
        copyTree(ROOT.resolve("examples/library"), project);
        mvn(project, "package", CLASSPATH, "-Dmdep.outputFile=cp.txt", "-Dembstore.version=" + version);
        String classpath = project.resolve("target/embstore-library-example-1.0.jar") + File.pathSeparator
                + Files.readString(project.resolve("cp.txt")).strip();

        Path data = Files.createDirectory(tmp.resolve("data"));
        Process run = new ProcessBuilder(javaBin(), "--enable-native-access=ALL-UNNAMED", "--add-modules",
                "jdk.incubator.vector", "-cp", classpath, "example.LibraryExample", data.toString())
                .redirectError(tmp.resolve("stderr").toFile()).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(run.waitFor(120, TimeUnit.SECONDS), "the example did not finish");
        String err = Files.readString(tmp.resolve("stderr"));
        assertEquals(0, run.exitValue(), out + err);
        List<String> lines = out.lines().toList();
        assertEquals("rows 1001 appended 1000", lines.get(0), out);
        assertEquals("gathered 1.0 1.0", lines.get(1), out);
        assertEquals("changed since", lines.get(2).substring(0, "changed since".length()), out);
        assertTrue(lines.get(2).endsWith(": {7,9}"), out);
        // One Adam step moves every coordinate by lr (bias-corrected m/sqrt(v) is 1 for a first step).
        assertTrue(lines.get(3).startsWith("row 7 after one Adam step 0.9"), out);
        // Rows 7 (all 0.9) and 1000 (all 1) both have cosine 1 to the query: either order.
        assertTrue(lines.get(4).equals("nearest to row 1000: 1000 7") || lines.get(4).equals("nearest to row 1000: 7 1000"), out);
        // The two rows exported as word2vec text through VectorFiles, and converted back into a store.
        assertEquals("converted back 2 rows of 16", lines.get(5), out);
        // With the flags, neither FFM's restricted-method warning nor the scalar fallback's notice appears.
        assertFalse(err.contains("restricted method"), err);
        assertFalse(err.toLowerCase(java.util.Locale.ROOT).contains("scalar"), err);
    }

    private static String projectVersion() throws IOException {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "<artifactId>embstore-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), "no version in pom.xml");
        return m.group(1);
    }

    private static Path jar(String module, String version) {
        Path jar = ROOT.resolve(module).resolve("target").resolve("embstore-" + module + "-" + version + ".jar");
        assertTrue(Files.isRegularFile(jar), jar + " is missing: run the tests with the modules built (./run-tests -pl cli -am)");
        return jar;
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void mvn(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("mvn", "-B", "-q"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("mvn.log").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("MAVEN_OPTS", "--sun-misc-unsafe-memory-access=allow");
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "mvn " + String.join(" ", args) + " did not finish");
        assertEquals(0, p.exitValue(), "mvn " + String.join(" ", args) + " in " + dir + " failed:\n"
                + Files.readString(tmp.resolve("mvn.log")));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path rel = from.relativize(f);
                if (rel.startsWith("target")) {
                    continue;
                }
                Path dst = to.resolve(rel.toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(f, dst, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
