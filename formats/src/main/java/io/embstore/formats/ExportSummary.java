package io.embstore.formats;

/**
 * What an export wrote ({@link VectorFiles#export}).
 *
 * @param rows         the rows written
 * @param textBytes    the bytes of text (or binary) formatted
 * @param writtenBytes the bytes that reached the output: fewer than {@code textBytes} when it is gzip-compressed
 */
public record ExportSummary(long rows, long textBytes, long writtenBytes) {
}
