package io.embstore.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The classifier is a library: what a user can fix is a {@link ClassifierException} whose kind says missing or
 * unusable, with the message naming the file; it knows nothing of the CLI's exit codes.
 */
class ClassifierExceptionTest {
    @TempDir
    Path tmp;

    @Test
    void aMissingModelIsNotFound() {
        Path dir = tmp.resolve("no-model");
        ClassifierException e = assertThrows(ClassifierException.class, () -> TextClassifier.open(dir));
        assertEquals(ClassifierException.Kind.NOT_FOUND, e.kind());
        assertEquals(dir + ": no such model directory", e.getMessage());
    }

    @Test
    void aDirectoryWithoutAModelFileIsNotFound() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        ClassifierException e = assertThrows(ClassifierException.class, () -> TextClassifier.open(dir));
        assertEquals(ClassifierException.Kind.NOT_FOUND, e.kind());
        assertEquals(dir.resolve(ClassifierModel.FILE) + ": no model file (is " + dir
                + " a model made by 'embstore train-classifier'?)", e.getMessage());
    }

    @Test
    void aDamagedModelFileIsInvalid() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("damaged"));
        Files.writeString(dir.resolve(ClassifierModel.FILE), "not a model\n");
        ClassifierException e = assertThrows(ClassifierException.class, () -> TextClassifier.open(dir));
        assertEquals(ClassifierException.Kind.INVALID, e.kind());
    }

    @Test
    void aMissingEvaluationFileIsNotFound() {
        Path file = tmp.resolve("wordsim.txt");
        ClassifierException e = assertThrows(ClassifierException.class, () -> WordEvaluation.wordPairs(null, file));
        assertEquals(ClassifierException.Kind.NOT_FOUND, e.kind());
        assertEquals(file + ": no such file", e.getMessage());
    }

    @Test
    void trainingTextThatIsNotUtf8IsInvalid() {
        byte[] latin1 = {'_', '_', 'l', 'a', 'b', 'e', 'l', '_', '_', 'a', ' ', 'c', 'a', 'f', (byte) 0xE9, '\n'};
        ClassifierException e = assertThrows(ClassifierException.class,
                () -> LabeledLines.read(new ByteArrayInputStream(latin1), "train.txt", (number, text) -> { }));
        assertEquals(ClassifierException.Kind.INVALID, e.kind());
        assertEquals("train.txt: line 1: not UTF-8 text (expected UTF-8)", e.getMessage());
    }
}
