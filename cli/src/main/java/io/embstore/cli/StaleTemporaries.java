package io.embstore.cli;

import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;

import io.embstore.formats.OutputLocation;
import picocli.CommandLine;

/**
 * The temporaries that killed runs left beside an output: a command that builds {@code target} in a temporary sibling
 * first removes those of processes no longer running, and says so, one line each on standard error (a user who
 * wonders where the disk space went, or came back from, sees it).
 */
final class StaleTemporaries {
    private StaleTemporaries() {
    }

    /** Removes the stale temporaries of {@code target}; a failure to remove one is reported and does not stop the run. */
    static void sweep(Path target, CommandLine cmd) {
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        try {
            for (Path removed : TempSibling.sweepStale(target)) {
                err.println(name + ": removed " + removed + ", left by an earlier run that did not finish");
            }
        } catch (IOException e) {
            err.println(name + ": could not remove what an earlier run left beside " + target.toAbsolutePath() + " ("
                    + OutputLocation.reason(e) + ")");
        }
        err.flush();
    }
}
