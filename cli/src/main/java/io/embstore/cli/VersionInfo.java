package io.embstore.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine.IVersionProvider;

/** What {@code --version} prints: embstore's version (from the build) and the JVM running it. */
final class VersionInfo implements IVersionProvider {
    private static final String RESOURCE = "version.properties";

    @Override
    public String[] getVersion() {
        return new String[] {
                "embstore " + version(),
                "JVM: ${java.version} (${java.vendor} ${java.vm.name} ${java.vm.version})",
                "OS: ${os.name} ${os.version} ${os.arch}"};
    }

    /** The project version Maven wrote into {@value #RESOURCE}, or "unknown" when run from unbuilt classes. */
    static String version() {
        try (InputStream in = VersionInfo.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
