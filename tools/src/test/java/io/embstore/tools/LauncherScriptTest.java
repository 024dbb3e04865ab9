package io.embstore.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** scripts/jdk.sh, which ./embstore and ./run-tests source to find a JDK, run against fake java binaries. */
class LauncherScriptTest {
    /** Surefire runs in the module directory; the scripts are at the repository root. */
    private static final Path JDK_SH = Path.of("..", "scripts", "jdk.sh").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    /** A fake JDK home whose java prints {@code versionLine} to stderr, as java -version does. */
    private Path fakeJdk(String name, String versionLine, boolean withJavac) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve(name).resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\necho '" + versionLine + "' >&2\necho 'Runtime Environment' >&2\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (withJavac) {
            Path javac = bin.resolve("javac");
            Files.writeString(javac, "#!/bin/sh\n");
            Files.setPosixFilePermissions(javac, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return tmp.resolve(name);
    }

    private static String bash(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", ". '" + JDK_SH + "'; " + script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.strip();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "openjdk version \"25.0.1\" 2025-10-21|25",
            "openjdk version \"25-ea\" 2025-09-16|25",
            "java version \"1.8.0_392\"|8",
            "openjdk version \"22\" 2024-03-19|22",
            "openjdk version \"17.0.15\" 2025-04-15|17"})
    void readsTheMajorVersion(String versionLine, String major) throws Exception {
        Path home = fakeJdk("jdk", versionLine, true);
        assertEquals(major, bash("embstore_java_major '" + home.resolve("bin/java") + "'"));
    }

    @Test
    void javaHomeIsTakenWhenRecentEnoughAndSkippedWhenNot() throws Exception {
        Path recent = fakeJdk("recent", "openjdk version \"23.0.2\" 2025-01-21", true);
        assertEquals(recent + " 23",
                bash("JAVA_HOME='" + recent + "'; embstore_find_jdk && echo \"$JAVA_HOME $EMBSTORE_JDK_MAJOR\""));
        Path old = fakeJdk("old", "openjdk version \"17.0.15\" 2025-04-15", true);
        assertTrue(!bash("JAVA_HOME='" + old + "'; embstore_find_jdk >/dev/null 2>&1 && echo \"$JAVA_HOME\" || echo none").equals(old.toString()));
        Path jre = fakeJdk("jre", "openjdk version \"25.0.1\" 2025-10-21", false);
        assertTrue(!bash("JAVA_HOME='" + jre + "'; embstore_find_jdk >/dev/null 2>&1 && echo \"$JAVA_HOME\" || echo none").equals(jre.toString()),
                "a JRE without javac cannot build embstore");
    }

    @Test
    void noSuitableJdkSaysWhatToInstall() throws Exception {
        String out = bash("EMBSTORE_MIN_JDK=1000; embstore_find_jdk; echo \"status $?\"");
        assertTrue(out.contains("embstore needs a JDK 1000 or newer"), out);
        assertTrue(out.contains("apt-get install openjdk-25-jdk"), out);
        assertTrue(out.endsWith("status 1"), out);
    }

    @Test
    void mavenOptionsAllowUnsafeOnlyWhereTheFlagExists() throws Exception {
        assertEquals("--sun-misc-unsafe-memory-access=allow",
                bash("unset MAVEN_OPTS; EMBSTORE_JDK_MAJOR=25; embstore_maven_opts; echo \"$MAVEN_OPTS\""));
        assertEquals("-Xmx1g --sun-misc-unsafe-memory-access=allow",
                bash("MAVEN_OPTS=-Xmx1g; EMBSTORE_JDK_MAJOR=25; embstore_maven_opts; echo \"$MAVEN_OPTS\""));
        assertEquals("", bash("unset MAVEN_OPTS; EMBSTORE_JDK_MAJOR=22; embstore_maven_opts; echo \"$MAVEN_OPTS\""));
    }
}
