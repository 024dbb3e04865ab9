package io.embstore.formats;

import io.embstore.store.io.TempSibling;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The temporaries that killed runs left beside an output: a command that builds {@code target} in a
 * {@link TempSibling} first removes those of processes no longer running ({@link TempSibling#sweepStale}) and says so,
 * one line each on standard error (a user who wonders where the disk space went, or came back from, sees it). A
 * failure to remove one is said too, and is no reason to stop.
 */
public final class StaleTemporaries {
    /**
     * How the lines are worded. The two wordings are part of the commands' output as released (scripts and tests match
     * them), so both stay, byte for byte, and differ only here.
     */
    public enum Wording {
        /** A store being built ({@code convert}, {@code create}): "left by an earlier run that did not finish". */
        EARLIER_RUN(", left by an earlier run that did not finish", "what an earlier run left beside ", true),
        /**
         * A file or model a command writes ({@code export}, {@code train-classifier} and its chart,
         * {@code compact-classifier}): "left by a run that was killed before it finished".
         */
        KILLED_RUN(", left by a run that was killed before it finished", "the temporary files of killed runs beside ",
                false);

        private final String leftBy;
        private final String couldNotRemove;
        private final boolean absoluteTarget;

        Wording(String leftBy, String couldNotRemove, boolean absoluteTarget) {
            this.leftBy = leftBy;
            this.couldNotRemove = couldNotRemove;
            this.absoluteTarget = absoluteTarget;
        }
    }

    private StaleTemporaries() {
    }

    /**
     * Removes the stale temporaries of {@code target} (a file or a directory) and says so on {@code err}, each line
     * starting with {@code command} (the command's qualified name, "embstore convert").
     */
    public static void sweep(Path target, PrintWriter err, String command, Wording wording) {
        try {
            for (Path removed : TempSibling.sweepStale(target)) {
                err.println(command + ": removed " + removed + wording.leftBy);
            }
        } catch (IOException e) {
            err.println(command + ": could not remove " + wording.couldNotRemove
                    + (wording.absoluteTarget ? target.toAbsolutePath() : target) + " (" + OutputLocation.reason(e)
                    + ")");
        }
        err.flush();
    }
}
