package io.embstore.cli;

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
        Path recent = fakeJdk("recent", "openjdk version \"25.0.2\" 2026-01-20", true);
        assertEquals(recent + " 25",
                bash("JAVA_HOME='" + recent + "'; embstore_find_jdk && echo \"$JAVA_HOME $EMBSTORE_JDK_MAJOR\""));
        Path old = fakeJdk("old", "openjdk version \"17.0.15\" 2025-04-15", true);
        assertTrue(!bash("JAVA_HOME='" + old + "'; embstore_find_jdk >/dev/null 2>&1 && echo \"$JAVA_HOME\" || echo none").equals(old.toString()));
        // FFM is final since 22, but the build targets 25: a JDK 24 cannot compile it.
        Path jdk24 = fakeJdk("jdk24", "openjdk version \"24.0.2\" 2025-07-15", true);
        assertTrue(!bash("JAVA_HOME='" + jdk24 + "'; embstore_find_jdk >/dev/null 2>&1 && echo \"$JAVA_HOME\" || echo none").equals(jdk24.toString()));
        Path jre = fakeJdk("jre", "openjdk version \"25.0.1\" 2025-10-21", false);
        assertTrue(!bash("JAVA_HOME='" + jre + "'; embstore_find_jdk >/dev/null 2>&1 && echo \"$JAVA_HOME\" || echo none").equals(jre.toString()),
                "a JRE without javac cannot build embstore");
    }

    @Test
    void theReleaseFileGivesTheVersionWithoutStartingJava() throws Exception {
        // This java would say 17 (and fails besides): the release file is read, no JVM is started.
        Path home = fakeJdk("jdk", "openjdk version \"17.0.15\" 2025-04-15", true);
        Files.writeString(home.resolve("bin/java"), "#!/bin/sh\necho started >> '" + tmp.resolve("started") + "'\nexit 1\n");
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION=\"25.0.3\"\nOS_NAME=\"Linux\"\n");
        assertEquals(home + " 25",
                bash("JAVA_HOME='" + home + "'; embstore_find_jdk && echo \"$JAVA_HOME $EMBSTORE_JDK_MAJOR\""));
        assertTrue(!Files.exists(tmp.resolve("started")), "java was started");
        // Without a release file, java -version is asked.
        Path bare = fakeJdk("bare", "openjdk version \"26.0.1\" 2026-04-21", true);
        assertEquals("26", bash("embstore_jdk_major '" + bare + "'"));
        Files.writeString(bare.resolve("release"), "JAVA_VERSION=\"1.8.0_392\"\n");
        assertEquals("8", bash("embstore_release_major '" + bare + "'"));
    }

    /** The launchers, the README and the build must name the same minimum JDK (the README once said 22; the build needs 25). */
    @Test
    void theMinimumJdkIsTheOneTheBuildTargets() throws Exception {
        String pom = Files.readString(Path.of("..", "pom.xml"));
        java.util.regex.Matcher release = java.util.regex.Pattern.compile("<maven.compiler.release>(\\d+)<").matcher(pom);
        assertTrue(release.find(), "pom.xml has no maven.compiler.release");
        String target = release.group(1);
        assertEquals(target, bash("echo \"$EMBSTORE_MIN_JDK\""));
        String readme = Files.readString(Path.of("..", "README.md"));
        assertTrue(readme.contains("a JDK " + target + " or newer"), "README.md must say 'a JDK " + target + " or newer'");
        java.util.regex.Matcher other = java.util.regex.Pattern.compile("JDK (\\d+)(\\+| or newer)").matcher(readme);
        while (other.find()) {
            assertEquals(target, other.group(1), "README.md names another minimum: " + other.group());
        }
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

    // ------------------------------------------------------------------------------------------------ AOT cache

    /**
     * A fake JDK 25 whose java, when asked to record an AOT cache, notes the call (its arguments and the lines of the
     * training file in its working directory) in {@code log} and writes the cache file; it fails instead while the
     * file {@code fail} exists.
     */
    private Path fakeRecordingJdk(String name, Path log, Path fail) throws IOException {
        Path home = fakeJdk(name, "openjdk version \"25.0.1\" 2025-10-21", true);
        Path java = home.resolve("bin/java");
        Files.writeString(java, """
                #!/bin/sh
                [ -e '%s' ] && exit 1
                for a in "$@"; do
                  case $a in -XX:AOTCacheOutput=*) out=${a#-XX:AOTCacheOutput=} ;; esac
                done
                echo "record $* lines=$(wc -l < train.txt) stdin=$(wc -c)" >> '%s'
                echo cache > "$out"
                """.formatted(fail, log));
        return home;
    }

    /** Runs embstore_aot for {@code jar} with the given JDK and prints the flags it chose. */
    private static String aotFlags(Path home, Path jar, String env) throws IOException, InterruptedException {
        return bash(env + " JAVA_HOME='" + home + "'; EMBSTORE_JDK_MAJOR=25; embstore_aot '" + jar
                + "' 2>/dev/null; echo \"flags: ${EMBSTORE_AOT_FLAGS[*]}\"");
    }

    private static long records(Path log) throws IOException {
        return Files.exists(log) ? Files.readAllLines(log).size() : 0;
    }

    @Test
    void aotCacheIsRecordedOnceAndUsedUntilTheJarOrTheJdkChanges() throws Exception {
        Path log = tmp.resolve("log");
        Path home = fakeRecordingJdk("jdk25", log, tmp.resolve("never"));
        Path jar = Files.writeString(tmp.resolve("embstore.jar"), "jar");
        Path cache = tmp.resolve("embstore.aot");
        String using = "flags: -XX:AOTCache=" + cache + " -Xlog:aot=off -Xlog:cds=off";

        assertEquals(using, aotFlags(home, jar, ""));
        assertEquals(1, records(log));
        String call = Files.readAllLines(log).get(0);
        assertTrue(call.contains("-XX:AOTCacheOutput=" + cache + ".") && call.contains("-jar " + jar + " train-classifier")
                && call.endsWith("lines=2000 stdin=0"), call);
        assertEquals("cache", Files.readString(cache).strip(), "the recording was renamed into place");

        assertEquals(using, aotFlags(home, jar, ""));
        assertEquals(1, records(log), "a current cache is not recorded again");

        // A rebuilt jar: the cache is stale.
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
        assertEquals(using, aotFlags(home, jar, ""));
        assertEquals(2, records(log), "a cache older than the jar is recorded again");

        // Another JDK: the cache is foreign.
        Path other = fakeRecordingJdk("other25", log, tmp.resolve("never"));
        assertEquals(using, aotFlags(other, jar, ""));
        assertEquals(3, records(log), "a cache recorded by another JDK is recorded again");
        assertEquals(other.toString(), Files.readString(tmp.resolve("embstore.aot.jdk")).strip());
    }

    @Test
    void recordingLeavesTheStandardInputToTheCommand() throws Exception {
        Path log = tmp.resolve("log");
        Path home = fakeRecordingJdk("jdk25", log, tmp.resolve("never"));
        Path jar = Files.writeString(tmp.resolve("embstore.jar"), "jar");
        String out = bash("printf 'a gorgeous film\\n' | { JAVA_HOME='" + home + "'; EMBSTORE_JDK_MAJOR=25; embstore_aot '"
                + jar + "' 2>/dev/null; cat; }");
        assertEquals("a gorgeous film", out, "what is piped to ./embstore predict reaches it");
        assertTrue(Files.readString(log).strip().endsWith("stdin=0"), Files.readString(log));
    }

    @Test
    void aFailedRecordingStartsWithoutACacheAndIsNotRetriedForTheSameJar() throws Exception {
        Path log = tmp.resolve("log");
        Path fail = Files.writeString(tmp.resolve("fail"), "");
        Path home = fakeRecordingJdk("jdk25", log, fail);
        Path jar = Files.writeString(tmp.resolve("embstore.jar"), "jar");

        String out = bash("JAVA_HOME='" + home + "'; EMBSTORE_JDK_MAJOR=25; embstore_aot '" + jar
                + "'; echo \"status $? flags: ${EMBSTORE_AOT_FLAGS[*]}\"");
        assertTrue(out.contains("could not record the startup cache; starting without it"), out);
        assertTrue(out.endsWith("status 0 flags:"), out);
        assertTrue(!Files.exists(tmp.resolve("embstore.aot")), "no cache is left behind");
        try (var left = Files.list(tmp)) {
            assertEquals(java.util.List.of(), left.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList());
        }

        Files.delete(fail); // would succeed now, but the failure stands for this jar
        assertEquals("flags:", aotFlags(home, jar, ""));
        assertEquals(0, records(log));
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
        assertEquals("flags: -XX:AOTCache=" + tmp.resolve("embstore.aot") + " -Xlog:aot=off -Xlog:cds=off",
                aotFlags(home, jar, ""), "a new jar is tried again");
        assertEquals(1, records(log));
    }

    @Test
    void noCacheWhenSwitchedOffOrBeforeJdk25() throws Exception {
        Path log = tmp.resolve("log");
        Path home = fakeRecordingJdk("jdk25", log, tmp.resolve("never"));
        Path jar = Files.writeString(tmp.resolve("embstore.jar"), "jar");
        assertEquals("flags:", aotFlags(home, jar, "EMBSTORE_AOT=0;"));
        assertEquals("flags:", bash("JAVA_HOME='" + home + "'; EMBSTORE_JDK_MAJOR=24; embstore_aot '" + jar
                + "'; echo \"flags: ${EMBSTORE_AOT_FLAGS[*]}\""));
        assertEquals(0, records(log));
    }

    /**
     * The flags with a real JVM (the one running this test, JDK 25): a cache it cannot use (one recorded for another
     * class path, a damaged file) is ignored without a word and the program runs.
     */
    @Test
    void theRealJvmIgnoresAForeignOrDamagedCacheSilently() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path foreign = tmp.resolve("foreign.aot");
        Process rec = new ProcessBuilder(java.toString(), "-XX:AOTCacheOutput=" + foreign, "-cp", empty.toString(), "-version")
                .redirectErrorStream(true).start();
        String recOut = new String(rec.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, rec.waitFor(), recOut);
        assertTrue(Files.size(foreign) > 0, recOut);
        Path damaged = Files.writeString(tmp.resolve("damaged.aot"), "not a cache");
        Path hello = Files.writeString(tmp.resolve("Hello.java"),
                "class Hello { public static void main(String[] a) { System.out.println(\"hello \" + a[0]); } }");
        for (Path cache : new Path[] {foreign, damaged}) {
            String out = bash("EMBSTORE_AOT_FLAGS=(-XX:AOTCache='" + cache + "' -Xlog:aot=off -Xlog:cds=off); '" + java
                    + "' \"${EMBSTORE_AOT_FLAGS[@]}\" '" + hello + "' there; echo \"status $?\"");
            assertEquals("hello there\nstatus 0", out, cache.toString());
        }
    }
}
