package io.embstore.formats;

import io.embstore.store.Dtype;
import java.nio.file.Path;
import java.util.List;

/**
 * What a conversion did ({@link VectorFiles#convert}).
 *
 * @param input             the vector file read
 * @param store             the store created
 * @param format            the input's format, as given or detected
 * @param rows              the rows in the store
 * @param dim               the values per row
 * @param dtype             the store's element type
 * @param duplicates        the words seen again (kept once, as {@link ConvertOptions#onDuplicate()} says)
 * @param duplicateExamples a few of those words
 * @param inputBytes        the bytes of input parsed (uncompressed)
 * @param nanos             how long it took
 */
public record ConversionSummary(Path input, Path store, VectorFormat format, long rows, int dim,
                                Dtype dtype, long duplicates, List<String> duplicateExamples,
                                long inputBytes, long nanos) {
}
