package io.embstore.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

import io.embstore.store.EmbeddingStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The reader half of {@code embstore demo}, run in a second JVM: opens the store read-only, looks words up, prints
 * {@link #READY} and waits for a line on standard input while the writer changes the store, then shows what it sees.
 * Exits 0 only if it saw exactly what {@link DemoCommand} writes.
 */
@Command(name = DemoReaderCommand.NAME,
        hidden = true,
        description = "The reader process of 'embstore demo' (not meant to be run by hand).")
final class DemoReaderCommand extends BaseCommand {
    static final String NAME = "demo-reader";
    /** The line that tells the demo's writer to go ahead; the writer does not echo it. */
    static final String READY = "[ready for the writer]";

    @Parameters(index = "0", paramLabel = "STORE", description = "The demo's store.")
    Path store;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingStore table = EmbeddingStore.open(store)) {
            int dim = table.dim();
            long rowsBefore = table.rows();
            long generationBefore = table.generation();
            out.printf("open(store): %d rows x %d dims %s, read-only, generation %d%n", rowsBefore, dim,
                    table.dtype().label(), generationBefore);
            long king = table.rowOf(DemoVocabulary.KING);
            out.printf("rowOf(\"%s\") = %d, rowOf(\"%s\") = %d, rowOf(\"%s\") = %d%n",
                    DemoVocabulary.KING, king, DemoVocabulary.QUEEN, table.rowOf(DemoVocabulary.QUEEN),
                    DemoVocabulary.PARIS, table.rowOf(DemoVocabulary.PARIS));
            out.printf("word(0) = \"%s\", word(%d) = \"%s\"%n", table.word(0), rowsBefore - 1, table.word(rowsBefore - 1));
            float[] v = new float[dim];
            table.read(king, v);
            out.printf("read(%d)  %s = %s%n", king, DemoVocabulary.KING, DemoCommand.prefix(v));
            out.printf("rowOf(\"%s\") = %d: not in the vocabulary (yet)%n", DemoVocabulary.NEW_WORD,
                    table.rowOf(DemoVocabulary.NEW_WORD));
            out.println("waiting for the writer...");
            out.println(READY);
            out.flush();

            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            if (in.readLine() == null) {
                out.println("standard input closed before the writer was done: giving up");
                return ExitCode.USER_ERROR;
            }

            long generationNow = table.generation();
            out.printf("generation() = %d (was %d): the writer has published%n", generationNow, generationBefore);
            table.read(king, v);
            boolean sawWrite = Arrays.equals(v, DemoCommand.updatedVector(dim));
            out.printf("read(%d)  %s = %s  %s%n", king, DemoVocabulary.KING, DemoCommand.prefix(v),
                    sawWrite ? "<- the new vector, at once: same mapped pages" : "<- NOT the writer's vector");
            out.printf("rows() = %d, rowOf(\"%s\") = %d: appended rows become visible at refresh()%n", table.rows(),
                    DemoVocabulary.NEW_WORD, table.rowOf(DemoVocabulary.NEW_WORD));
            boolean refreshed = table.refresh();
            long newRow = table.rowOf(DemoVocabulary.NEW_WORD);
            out.printf("refresh() = %b: rows() = %d, rowOf(\"%s\") = %d, word(%d) = \"%s\"%n", refreshed, table.rows(),
                    DemoVocabulary.NEW_WORD, newRow, rowsBefore, table.rows() > rowsBefore ? table.word(rowsBefore) : "-");
            boolean sawWord = newRow == rowsBefore && table.rows() == rowsBefore + 1;
            if (sawWord) {
                table.read(newRow, v);
                sawWord = Arrays.equals(v, DemoCommand.appendedVector(dim));
                out.printf("read(%d)  %s = %s%n", newRow, DemoVocabulary.NEW_WORD, DemoCommand.prefix(v));
            }
            out.println(sawWrite && sawWord ? "saw the write and the new word without reopening the store"
                    : "did NOT see " + (sawWrite ? "the new word" : "the write") + " as expected");
            out.flush();
            return sawWrite && sawWord ? ExitCode.OK : ExitCode.INTERNAL_ERROR;
        }
    }
}
