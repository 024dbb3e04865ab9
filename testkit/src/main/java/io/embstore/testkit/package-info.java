/**
 * Test fixtures every module's tests share (test scope only): the printed, replayable seed of a randomised test
 * ({@link io.embstore.testkit.Seeds}) and a small tmpfs that really fills up ({@link io.embstore.testkit.SmallTmpfs}).
 * Depends on JUnit alone.
 */
package io.embstore.testkit;
