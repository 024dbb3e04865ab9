package io.embstore.cli;

import io.embstore.store.EmbeddingStore;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The {@code --no-subwords} option of the commands that look words up: in a store converted from a fastText
 * {@code .bin} model a word it does not have is answered from its character n-grams unless this refuses it.
 */
final class SubwordsOption {
    @Option(names = "--no-subwords", description = "Refuse a word the store does not have instead of building its"
            + " vector from the store's character n-grams (a store converted from a fastText .bin model).")
    boolean noSubwords;

    /** Whether the store's n-gram buckets answer {@code word}, which it does not have. */
    boolean answers(EmbeddingStore table, String word) {
        return !noSubwords && table.subwords().isPresent() && !table.contains(word);
    }

    /**
     * Checks that every word is in the store or answered from its n-grams (noting those on {@code err}), and returns
     * the latter; fails with "not in the vocabulary" for the first word neither way answers.
     */
    Set<String> require(EmbeddingStore table, PrintWriter err, String command, String... words) {
        if (!table.hasVocabulary()) {
            throw new UserError(ExitCode.USER_ERROR, table.path() + " has no vocabulary: it is an id-indexed table");
        }
        Set<String> fromSubwords = new LinkedHashSet<>();
        for (String w : words) {
            if (answers(table, w)) {
                fromSubwords.add(w);
            } else if (!table.contains(w)) {
                throw NeighborPrinter.notInVocabulary(w, table);
            }
        }
        for (String w : fromSubwords) {
            err.println(command + ": '" + w + "' is not in the vocabulary: its vector is the mean of its character"
                    + " n-grams (--no-subwords refuses it)");
        }
        err.flush();
        return fromSubwords;
    }
}
